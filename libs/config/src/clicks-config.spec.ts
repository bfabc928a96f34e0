import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

describe('clicks configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snip-clicks-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string>) =>
    loadConfig(
      { SNIP_PROFILE: 'test', DATA_DIR: dir, SHORT_CODE_SECRET: 's'.repeat(20), ...env },
      { configDir: join(dir, 'none'), cwd: dir },
    );
  const problems = (env: Record<string, string>): string[] => {
    try {
      load(env);
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults to the in-process transport and /24, /48 truncation', () => {
    const { clicks } = load({});
    expect(clicks).toMatchObject({
      transport: 'inline',
      ipMode: 'truncate',
      ipv4Prefix: 24,
      ipv6Prefix: 48,
      bufferMax: 100_000,
      batchSize: 1000,
      stream: 'snip:clicks',
      deadLetterStream: 'snip:clicks:dead',
      consumerGroup: 'logs',
      queue: 'clicks',
      queueType: 'quorum',
      logsPort: 3001,
    });
    expect(clicks.consumerName).toContain(String(process.pid));
  });

  it('refuses redis-streams without a Redis, and rmq without RabbitMQ', () => {
    expect(problems({ CLICKS_TRANSPORT: 'redis-streams' })).toEqual([
      expect.stringMatching(/^CLICKS_TRANSPORT: redis-streams needs REDIS_URL/),
    ]);
    expect(problems({ CLICKS_TRANSPORT: 'rmq' })).toEqual([
      expect.stringMatching(/^CLICKS_TRANSPORT: rmq needs RABBITMQ_URL/),
    ]);
    expect(problems({ CLICKS_TRANSPORT: 'kafka' })[0]).toMatch(/^CLICKS_TRANSPORT/);
    expect(problems({ CLICKS_TRANSPORT: 'rmq', RABBITMQ_URL: 'http://mq' })[0]).toMatch(
      /^RABBITMQ_URL: expected an amqp/,
    );
  });

  it('takes the stream Redis from CLICKS_REDIS_URL, else REDIS_URL', () => {
    expect(
      load({ CLICKS_TRANSPORT: 'redis-streams', REDIS_URL: 'redis://cache:6379' }).clicks.redisUrl,
    ).toBe('redis://cache:6379');
    expect(
      load({
        CLICKS_TRANSPORT: 'redis-streams',
        REDIS_URL: 'redis://cache:6379',
        CLICKS_REDIS_URL: 'redis://streams:6379',
      }).clicks.redisUrl,
    ).toBe('redis://streams:6379');
  });

  it('needs a key of some length to hash addresses', () => {
    expect(problems({ CLICKS_IP_MODE: 'hash' })[0]).toMatch(/^CLICKS_IP_HASH_KEY: is required/);
    expect(problems({ CLICKS_IP_MODE: 'hash', CLICKS_IP_HASH_KEY: 'short' })[0]).toMatch(
      /^CLICKS_IP_HASH_KEY: must be at least 16/,
    );
    expect(load({ CLICKS_IP_MODE: 'hash', CLICKS_IP_HASH_KEY: 'k'.repeat(16) }).clicks.ipMode).toBe(
      'hash',
    );
  });

  it('checks the numbers', () => {
    expect(problems({ CLICKS_IPV4_PREFIX: '33' })[0]).toMatch(/^CLICKS_IPV4_PREFIX/);
    expect(problems({ CLICKS_BATCH_SIZE: '0' })[0]).toMatch(/^CLICKS_BATCH_SIZE/);
    expect(problems({ CLICKS_BUFFER_MAX: 'lots' })[0]).toMatch(/^CLICKS_BUFFER_MAX/);
  });
});

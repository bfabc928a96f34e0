import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type LoadConfigOptions } from './config';
import type { Namespace } from './config.schema';

describe('clicks configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snip-clicks-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string>, options: LoadConfigOptions = {}) =>
    loadConfig(
      { SNIP_PROFILE: 'test', DATA_DIR: dir, SHORT_CODE_SECRET: 's'.repeat(20), ...env },
      { configDir: join(dir, 'none'), cwd: dir, ...options },
    );
  const problems = (env: Record<string, string>, namespaces?: readonly Namespace[]): string[] => {
    try {
      load(env, { namespaces });
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    return [];
  };

  it('defaults to the in-process transport and /24, /48 truncation', () => {
    const { clicks, clickPublisher, clickIngest, worker } = load({});
    expect(clicks).toMatchObject({
      transport: 'inline',
      stream: 'snip:clicks',
      queue: 'clicks',
      queueType: 'quorum',
      maxDeliveries: 5,
    });
    expect(clickPublisher).toMatchObject({
      ipMode: 'truncate',
      ipv4Prefix: 24,
      ipv6Prefix: 48,
      bufferMax: 100_000,
    });
    expect(clickIngest).toMatchObject({ batchSize: 1000, batchIntervalMs: 200 });
    expect(worker).toMatchObject({
      deadLetterStream: 'snip:clicks:dead',
      consumerGroup: 'logs',
      port: 3001,
    });
    expect(worker.consumerName).toContain(String(process.pid));
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

  it('prefixes the stream keys with REDIS_KEY_PREFIX, even when only the worker namespaces are read', () => {
    const config = load(
      { REDIS_KEY_PREFIX: 'x:', CLICKS_STREAM: 's', CLICKS_DEAD_LETTER_STREAM: 'd' },
      { namespaces: ['clicks', 'worker'] },
    );
    expect(Object.keys(config).sort()).toEqual(['clicks', 'worker']);
    expect(config.clicks.stream).toBe('x:s');
    expect(config.worker.deadLetterStream).toBe('x:d');
  });

  it('needs a key of some length to hash addresses', () => {
    expect(problems({ CLICKS_IP_MODE: 'hash' })[0]).toMatch(/^CLICKS_IP_HASH_KEY: is required/);
    expect(problems({ CLICKS_IP_MODE: 'hash', CLICKS_IP_HASH_KEY: 'short' })[0]).toMatch(
      /^CLICKS_IP_HASH_KEY: must be at least 16/,
    );
    expect(
      load({ CLICKS_IP_MODE: 'hash', CLICKS_IP_HASH_KEY: 'k'.repeat(16) }).clickPublisher.ipMode,
    ).toBe('hash');
  });

  it('checks the numbers', () => {
    expect(problems({ CLICKS_IPV4_PREFIX: '33' })[0]).toMatch(/^CLICKS_IPV4_PREFIX/);
    expect(problems({ CLICKS_BATCH_SIZE: '0' })[0]).toMatch(/^CLICKS_BATCH_SIZE/);
    expect(problems({ CLICKS_BUFFER_MAX: 'lots' })[0]).toMatch(/^CLICKS_BUFFER_MAX/);
  });

  it("validates the publisher's keys only where they are read, and the worker's likewise", () => {
    const publisherOnly = { CLICKS_BUFFER_MAX: 'lots', CLICKS_IP_MODE: 'hash' };
    const workerOnly = { CLICKS_RMQ_PREFETCH: '0', LOGS_PORT: 'x' };
    const worker: Namespace[] = ['clicks', 'clickIngest', 'worker'];
    const publisher: Namespace[] = ['clicks', 'clickPublisher', 'clickIngest'];
    expect(problems(publisherOnly, worker)).toEqual([]);
    expect(problems(workerOnly, publisher)).toEqual([]);
    expect(problems(publisherOnly, publisher)).toHaveLength(2);
    expect(problems(workerOnly, worker)).toHaveLength(2);
  });

  it('keeps clicks in PostgreSQL by default, ClickHouse on the local defaults when asked', () => {
    expect(load({}).clickhouse).toMatchObject({ sink: 'postgres' });
    expect(
      load({ CLICKS_SINK: 'clickhouse', DATABASE_URL: 'postgres://db/snip' }).clickhouse,
    ).toEqual({
      sink: 'clickhouse',
      url: 'http://127.0.0.1:8123',
      database: 'snip',
      user: 'default',
      timeoutMs: 10_000,
    });
  });

  it('refuses the ClickHouse sink on the embedded database (no external services there)', () => {
    expect(problems({ CLICKS_SINK: 'clickhouse' })).toEqual([
      expect.stringMatching(/^CLICKS_SINK: clickhouse needs DATABASE_URL/),
    ]);
  });

  it('checks the ClickHouse keys', () => {
    const base = { CLICKS_SINK: 'clickhouse', DATABASE_URL: 'postgres://db/snip' };
    expect(problems({ ...base, CLICKS_SINK: 'mysql' })[0]).toMatch(/^CLICKS_SINK/);
    expect(problems({ ...base, CLICKHOUSE_URL: 'tcp://ch:9000' })[0]).toMatch(/^CLICKHOUSE_URL/);
    expect(problems({ ...base, CLICKHOUSE_DATABASE: 'snip; DROP' })[0]).toMatch(
      /^CLICKHOUSE_DATABASE: expected a plain identifier/,
    );
    expect(problems({ ...base, CLICKHOUSE_TIMEOUT_MS: '5' })[0]).toMatch(/^CLICKHOUSE_TIMEOUT_MS/);
    expect(problems({ ...base, CLICKHOUSE_PASSWORD: 'hunter2', CLICKHOUSE_USER: '' })).toEqual([]);
    expect(load({ ...base, CLICKHOUSE_PASSWORD: 'hunter2' }).clickhouse.password).toBe('hunter2');
  });
});

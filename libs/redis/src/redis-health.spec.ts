import { EventEmitter } from 'node:events';
import type { Logger } from '@app/observability';
import type { Redis } from 'ioredis';
import { FAILURES_TO_OPEN, RedisUnavailableError, watchRedis } from './redis-health';

/** What RedisHealth uses of an ioredis client: its events, its status and PING. */
class FakeRedis extends EventEmitter {
  status = 'connecting';
  pings = 0;
  answer: () => Promise<string> = () => new Promise<string>(() => undefined);

  ping(): Promise<string> {
    this.pings += 1;
    return this.answer();
  }
}

function setUp(probeIntervalMs = 100) {
  const fake = new FakeRedis();
  const warn = jest.fn<void, [unknown, string]>();
  const logger = { warn } as unknown as Logger;
  const health = watchRedis(fake as unknown as Redis, { name: 'shared', logger, probeIntervalMs });
  const messages = () => warn.mock.calls.map((call) => call[1]);
  return { fake, health, messages };
}

const timeout = () => Promise.reject(new Error('Command timed out'));
const replyError = () => {
  const error = new Error('NOSCRIPT No matching script');
  error.name = 'ReplyError';
  return Promise.reject(error);
};

describe('RedisHealth', () => {
  afterEach(() => jest.useRealTimers());

  it('is the client’s error listener and logs one line per change, not per error', async () => {
    const { fake, health, messages } = setUp();
    expect(fake.listenerCount('error')).toBe(1);
    fake.emit('error', new Error('connect ECONNREFUSED'));
    fake.emit('error', new Error('connect ECONNREFUSED'));
    fake.emit('close');
    fake.emit('reconnecting');
    expect(health.up).toBe(false);
    expect(messages()).toEqual(['redis down: commands fail at once until it answers again']);

    const command = jest.fn(() => Promise.resolve('OK'));
    await expect(health.run(command)).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(command).not.toHaveBeenCalled();

    fake.status = 'ready';
    fake.emit('ready');
    expect(health.up).toBe(true);
    await expect(health.run(command)).resolves.toBe('OK');
    expect(messages()).toHaveLength(2);
    expect(messages()[1]).toBe('redis up');
    health.stop();
  });

  it('opens after FAILURES_TO_OPEN commands in a row fail without a reply', async () => {
    const { fake, health, messages } = setUp();
    fake.status = 'ready';
    fake.emit('ready');
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) {
      await expect(health.run(timeout)).rejects.toThrow('timed out');
    }
    // An error reply proves Redis answers: the count starts again.
    await expect(health.run(replyError)).rejects.toThrow('NOSCRIPT');
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) {
      await expect(health.run(timeout)).rejects.toThrow('timed out');
    }
    await expect(health.run(() => Promise.resolve(1))).resolves.toBe(1);
    expect(health.up).toBe(true);
    for (let i = 0; i < FAILURES_TO_OPEN; i++) {
      await expect(health.run(timeout)).rejects.toThrow('timed out');
    }
    expect(health.up).toBe(false);
    expect(messages()).toHaveLength(1);
    health.stop();
  });

  it('probes a frozen (still connected) Redis with PING until it answers', async () => {
    jest.useFakeTimers();
    const { fake, health, messages } = setUp(100);
    fake.status = 'ready';
    fake.emit('ready');
    for (let i = 0; i < FAILURES_TO_OPEN; i++) {
      await expect(health.run(timeout)).rejects.toThrow();
    }
    expect(health.up).toBe(false);

    await jest.advanceTimersByTimeAsync(100);
    expect(fake.pings).toBe(1);
    // Unanswered within the interval: still down, and the next probe follows.
    await jest.advanceTimersByTimeAsync(200);
    expect(fake.pings).toBe(2);
    expect(health.up).toBe(false);

    fake.answer = () => Promise.resolve('PONG');
    await jest.advanceTimersByTimeAsync(200);
    expect(health.up).toBe(true);
    expect(messages()).toEqual([
      'redis down: commands fail at once until it answers again',
      'redis up',
    ]);
    const pings = fake.pings;
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.pings).toBe(pings);
    health.stop();
  });

  it('says nothing and stops probing once stopped (closed on purpose)', async () => {
    jest.useFakeTimers();
    const { fake, health, messages } = setUp(100);
    fake.status = 'ready';
    fake.emit('ready');
    health.stop();
    fake.status = 'end';
    fake.emit('close');
    fake.emit('end');
    await jest.advanceTimersByTimeAsync(1000);
    expect(messages()).toEqual([]);
    expect(fake.pings).toBe(0);
  });
});

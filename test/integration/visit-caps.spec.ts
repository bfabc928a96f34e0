import { Redis } from 'ioredis';
import { RedisVisitCounter, type Reservation } from '@app/links';
import type { Logger } from '@app/observability';
import { RedisHealth } from '@app/redis';
import { REDIS_URL } from '../support/services';

/**
 * The visit counter of capped links on a real Redis: exactly `maxClicks` reservations succeed
 * however many processes ask at once, a missing counter starts again from the clicks the database
 * has stored (Redis lost its data), and an unreachable Redis answers 'unavailable'.
 */
describe('RedisVisitCounter', () => {
  const prefix = `test:visits:${process.pid}:${Date.now()}:`;
  const clients: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis(REDIS_URL);
    clients.push(redis);
    return redis;
  };
  const key = (linkId: string): string => `${prefix}visits:{${linkId}}`;

  afterAll(async () => {
    const admin = connect();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    for (const client of clients) client.disconnect();
  });

  const count = (answers: readonly Reservation[], which: Reservation): number =>
    answers.filter((answer) => answer === which).length;

  it('reserves exactly maxClicks of 2,000 concurrent visits from three processes', async () => {
    let reads = 0;
    const stored = (): Promise<number> => {
      reads++;
      return Promise.resolve(0);
    };
    // Three "instances", each with its own connection and its own memory.
    const counters = [0, 1, 2].map(() => new RedisVisitCounter(connect(), prefix, stored));
    const answers = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => counters[i % 3]!.reserve('100', 100)),
    );
    expect(count(answers, 'reserved')).toBe(100);
    expect(count(answers, 'exhausted')).toBe(1900);
    expect(await connect().get(key('100'))).toBe('100');
    // The database is read only while the counter is missing: at most once per instance.
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(3);
  });

  it('starts a missing counter from the stored clicks, and again after Redis lost it', async () => {
    let stored = 95;
    const counter = new RedisVisitCounter(connect(), prefix, () => Promise.resolve(stored));
    const first = await Promise.all(Array.from({ length: 10 }, () => counter.reserve('200', 100)));
    expect(count(first, 'reserved')).toBe(5);
    expect(await connect().get(key('200'))).toBe('100');

    // Redis loses the key (a restart without persistence, a flush, an eviction) once the
    // pipeline has written 98 of the 100 clicks: the counter starts again at 98.
    await connect().del(key('200'));
    stored = 98;
    const again = await Promise.all(Array.from({ length: 10 }, () => counter.reserve('200', 100)));
    expect(count(again, 'reserved')).toBe(2);
    expect(await connect().get(key('200'))).toBe('100');
  });

  it('refuses at once when the stored clicks already reach the cap', async () => {
    const counter = new RedisVisitCounter(connect(), prefix, () => Promise.resolve(120));
    expect(await counter.reserve('300', 100)).toBe('exhausted');
    expect(await connect().get(key('300'))).toBe('120');
  });

  it('keeps its counter (never lowered by a seed) and its lifetime across visits', async () => {
    const redis = connect();
    await redis.set(key('400'), '7');
    const counter = new RedisVisitCounter(redis, prefix, () => Promise.resolve(0));
    expect(await counter.reserve('400', 8)).toBe('reserved');
    expect(await counter.reserve('400', 8)).toBe('exhausted');
    expect(await redis.get(key('400'))).toBe('8');
    const ttl = await redis.pttl(key('400'));
    expect(ttl).toBeGreaterThan(6 * 86_400_000);
    // A raised cap gives more visits at once.
    expect(await counter.reserve('400', 9)).toBe('reserved');
  });

  it('answers unavailable while Redis is known to be down, without sending anything', async () => {
    const redis = connect();
    await redis.ping();
    const logger = { warn: () => undefined } as unknown as Logger;
    const health = new RedisHealth(redis, { name: 'test', logger, probeIntervalMs: 0 });
    try {
      const counter = new RedisVisitCounter(redis, prefix, () => Promise.resolve(0), health);
      redis.emit('close');
      expect(await counter.reserve('500', 10)).toBe('unavailable');
      expect(await redis.exists(key('500'))).toBe(0);
    } finally {
      health.stop();
    }
  });

  it('answers unavailable when Redis cannot be reached', async () => {
    // Nothing listens on port 1: every command fails at once.
    const redis = new Redis({
      port: 1,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    clients.push(redis);
    const counter = new RedisVisitCounter(redis, prefix, () => Promise.resolve(0));
    expect(await counter.reserve('600', 10)).toBe('unavailable');
  });
});

import { Redis } from 'ioredis';
import { register } from 'prom-client';
import type { Logger } from '@app/observability';
import { RedisHealth } from '@app/redis';
import { RedisThrottlerStorage } from '@app/throttling';
import { REDIS_URL } from '../support/services';

async function errorCount(): Promise<number> {
  const metric = await register.getSingleMetric('snip_rate_limit_errors_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('RedisThrottlerStorage', () => {
  it('counts hits in Redis and blocks past the limit', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `test:rl:${process.pid}:${Date.now()}:`;
    try {
      const storage = new RedisThrottlerStorage(redis, prefix);
      const first = await storage.increment('client', 60_000, 2, 30_000, 'api');
      await storage.increment('client', 60_000, 2, 30_000, 'api');
      const third = await storage.increment('client', 60_000, 2, 30_000, 'api');
      expect(first).toMatchObject({ totalHits: 1, isBlocked: false });
      expect(third).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 30 });
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('keeps the counters and blocks of two limits on one prefix apart', async () => {
    // Two instances (or deployments) on one REDIS_KEY_PREFIX, configured with different limits.
    const redis = new Redis(REDIS_URL);
    const prefix = `test:rl:${process.pid}:${Date.now()}:two:`;
    try {
      const strict = new RedisThrottlerStorage(redis, prefix);
      const lenient = new RedisThrottlerStorage(redis, prefix);
      for (let i = 0; i < 3; i++) await strict.increment('client', 60_000, 2, 60_000, 'api');
      expect(await strict.increment('client', 60_000, 2, 60_000, 'api')).toMatchObject({
        isBlocked: true,
      });
      // The client is blocked by the limit of 2, not by the instance whose limit is 100.
      expect(await lenient.increment('client', 60_000, 100, 60_000, 'api')).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });
      // The same limit over another window is another budget too.
      expect(await strict.increment('client', 1000, 2, 1000, 'api')).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('does not send the hit while Redis is known to be down, and lets it through', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `test:rl:${process.pid}:${Date.now()}:down:`;
    const logger = { warn: () => undefined } as unknown as Logger;
    const health = new RedisHealth(redis, { name: 'test', logger, probeIntervalMs: 0 });
    try {
      await redis.ping();
      const storage = new RedisThrottlerStorage(redis, prefix, health);
      redis.emit('close');
      expect(health.up).toBe(false);
      const before = await errorCount();
      const record = await storage.increment('client', 60_000, 1, 30_000, 'api');
      expect(record).toMatchObject({ totalHits: 0, isBlocked: false });
      expect(await errorCount()).toBe(before + 1);
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
    } finally {
      health.stop();
      redis.disconnect();
    }
  });

  it('lets requests through and counts the error when Redis is unreachable', async () => {
    // Nothing listens on port 1: every command fails at once.
    const redis = new Redis({
      port: 1,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      const before = await errorCount();
      const storage = new RedisThrottlerStorage(redis, 'unreachable:');
      const record = await storage.increment('client', 60_000, 1, 30_000, 'api');
      expect(record).toEqual({
        totalHits: 0,
        timeToExpire: 60,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      expect(await errorCount()).toBe(before + 1);
    } finally {
      redis.disconnect();
    }
  });
});

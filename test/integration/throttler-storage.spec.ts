import { Redis } from 'ioredis';
import { register } from 'prom-client';
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

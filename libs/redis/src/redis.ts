import type { RedisConfig } from '@app/config';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection with snip's defaults: bounded connect and command timeouts, commands queued
 * while reconnecting only up to a bound, and retries that back off to one a second.
 */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): Redis {
  if (!config.url) throw new Error('createRedis needs REDIS_URL');
  return new Redis(config.url, {
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    enableAutoPipelining: true,
    lazyConnect: false,
    ...overrides,
  });
}

/**
 * Closes a connection: QUIT when it is up (pending replies arrive first), otherwise drops it at
 * once, since a QUIT queued on a connection that never comes back would wait forever.
 */
export async function closeRedis(redis: Redis | null | undefined): Promise<void> {
  if (!redis || redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

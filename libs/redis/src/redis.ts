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

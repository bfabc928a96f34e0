import { createHash } from 'node:crypto';
import type { RedisConfig } from '@app/config';
import { Command, Redis, type RedisOptions } from 'ioredis';
import { redisHealth } from './redis-health';

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
  // Closing on purpose is no outage: no 'redis down' line, no more probes.
  redisHealth(redis)?.stop();
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * Sends the command `name` with `args` on `redis` and, once it has settled, empties the command's
 * argument list. For commands that carry much data (a batch of click events), not for every call:
 * a settled ioredis Command outlives the young generation with all it references, and dropping its
 * arguments lets the batch die young (see decision 21).
 */
export async function sendReleasing(
  redis: Redis,
  name: string,
  args: (string | number | Buffer)[],
): Promise<unknown> {
  const command = new Command(name, args, { keyPrefix: redis.options.keyPrefix });
  try {
    return await redis.sendCommand(command);
  } finally {
    command.args = [];
  }
}

/**
 * A Lua script run through sendReleasing: EVALSHA, and EVAL (which caches it again) when this
 * Redis does not have it (a fresh or restarted Redis, or after SCRIPT FLUSH). What ioredis'
 * defineCommand does, for scripts that carry much data.
 */
export class ReleasingScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await sendReleasing(redis, 'evalsha', [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return sendReleasing(redis, 'eval', [this.lua, keys.length, ...keys, ...args]);
    }
  }
}

/**
 * Resolves true once `redis` is connected and ready, or false after `timeoutMs`: a start-up that
 * should not serve before Redis answers (every look-up would count as a miss) waits, bounded.
 */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}

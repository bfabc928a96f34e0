import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { counter } from '@app/observability';
import { redisHealth, type RedisHealth } from '@app/redis';

/** The record @nestjs/throttler expects (times in seconds). */
export interface RateLimitRecord {
  readonly totalHits: number;
  readonly timeToExpire: number;
  readonly isBlocked: boolean;
  readonly timeToBlockExpire: number;
}

/**
 * One hit, atomically: a fixed window counter (KEYS[1], expiring after the window) and a block
 * marker (KEYS[2]) set once the count passes the limit. While blocked, hits are not counted.
 * Returns hits, window ms left, blocked (0/1), block ms left.
 */
const HIT = `
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1]), 1, blockLeft}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return {hits, left, 1, tonumber(ARGV[3])}
end
return {hits, left, 0, 0}
`;

type RedisWithHit = Redis & {
  rateLimitHit(
    hitsKey: string,
    blockKey: string,
    ttlMs: number,
    limit: number,
    blockMs: number,
  ): Promise<[number, number, number, number]>;
};

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

const storageErrors = () =>
  counter({
    name: 'snip_rate_limit_errors_total',
    help: 'Rate-limit checks that could not reach Redis and let the request through',
  });

/**
 * Rate-limit counters in Redis, so that every api instance enforces one shared limit. When Redis
 * cannot be reached, or is known to be down (then without waiting on it), the check lets the
 * request through (fail open) and counts the error. Keys are
 * `<prefix>rl:<throttler>:<limit>/<window ms>:<tracker>` (hash-tagged, for Redis Cluster) plus
 * `:block`: instances with different limits on one prefix keep counters and blocks apart, instead
 * of one instance's lower limit blocking clients of the other.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly redis: RedisWithHit;
  private readonly errors = storageErrors();

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    private readonly health: RedisHealth | undefined = redisHealth(redis),
  ) {
    if (!('rateLimitHit' in redis)) {
      redis.defineCommand('rateLimitHit', { numberOfKeys: 2, lua: HIT });
    }
    this.redis = redis as RedisWithHit;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<RateLimitRecord> {
    const base = `${this.keyPrefix}rl:{${throttlerName}:${limit}/${ttl}:${key}}`;
    const send = () => this.redis.rateLimitHit(base, `${base}:block`, ttl, limit, blockDuration);
    let reply: [number, number, number, number];
    try {
      reply = await (this.health ? this.health.run(send) : send());
    } catch {
      // Fail open: a Redis outage must not turn every API call into an error. The counter (and
      // the readiness check on Redis) make the outage visible instead.
      this.errors.inc();
      return { totalHits: 0, timeToExpire: seconds(ttl), isBlocked: false, timeToBlockExpire: 0 };
    }
    const [hits, left, blocked, blockLeft] = reply;
    return {
      totalHits: hits,
      timeToExpire: seconds(left),
      isBlocked: blocked === 1,
      timeToBlockExpire: seconds(blockLeft),
    };
  }
}

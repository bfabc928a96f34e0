import { Inject, Injectable, Optional } from '@nestjs/common';
import { RedisConfig } from '@app/config';
import { REDIS, redisHealth, type RedisHealth } from '@app/redis';
import type { Redis } from 'ioredis';
import { LinksRepository } from './links.repository';

/** What one visit of a capped link got: a redirect, a 410, or (Redis away) a 503. */
export type Reservation = 'reserved' | 'exhausted' | 'unavailable';

/** Counts the visits of links with `maxClicks`: the one place a capped redirect asks. */
export interface VisitCounter {
  /** Takes one of the `maxClicks` visits of the link `linkId`, if one is left. */
  reserve(linkId: string, maxClicks: number): Promise<Reservation>;
}

/** Where a counter starts when it has none: the clicks the database has stored for the link. */
export type StoredClicks = (linkId: string) => Promise<number>;

/**
 * How long a counter outlives its link's last visit. An idle counter goes, and the next visit
 * rebuilds it from the database, which by then holds every click the pipeline carried.
 */
const VISIT_COUNTER_TTL_MS = 7 * 86_400_000;

/**
 * One visit, atomically. KEYS[1] is the link's counter: the visits reserved so far. ARGV[1] is
 * the cap, ARGV[2] the clicks stored in the database ('' when the caller has not read them),
 * ARGV[3] the counter's lifetime in ms. A missing counter without a seed answers -1 (the caller
 * reads the database and calls again); with one, it starts there. With a counter, a seed can only
 * raise it. Below the cap the counter grows by one and the answer is 1; at the cap it stays and
 * the answer is 0: the counter never passes the cap, so exactly `cap` visits are ever reserved.
 */
const RESERVE_VISIT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '-1')
if ARGV[2] ~= '' and tonumber(ARGV[2]) > count then
  count = tonumber(ARGV[2])
end
if count < 0 then
  return -1
end
if count >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], count, 'PX', ARGV[3])
  return 0
end
redis.call('SET', KEYS[1], count + 1, 'PX', ARGV[3])
return 1
`;

type RedisWithReserve = Redis & {
  reserveVisit(key: string, cap: number, seed: string, ttlMs: number): Promise<number>;
};

/**
 * Visit counters in Redis, shared by every process that redirects (each api instance, an edge):
 * one script call per visit of a capped link, and a database read only when the counter is
 * missing (first visit, idle past VISIT_COUNTER_TTL_MS, or Redis lost its data). Such a reseed
 * from the written-behind total misses the clicks still in the pipeline at that moment: those are
 * the most visits a cap can be passed by (docs/architecture.md, decision 42). While Redis is
 * unreachable (or known down) a capped link answers 'unavailable' rather than over-serve.
 */
export class RedisVisitCounter implements VisitCounter {
  private readonly redis: RedisWithReserve;
  private readonly seeds = new Seeds();

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    private readonly stored: StoredClicks,
    private readonly health: RedisHealth | undefined = redisHealth(redis),
  ) {
    if (!('reserveVisit' in redis)) {
      redis.defineCommand('reserveVisit', { numberOfKeys: 1, lua: RESERVE_VISIT });
    }
    this.redis = redis as RedisWithReserve;
  }

  async reserve(linkId: string, maxClicks: number): Promise<Reservation> {
    // Hash-tagged, for Redis Cluster; by id, which no other link ever has.
    const key = `${this.keyPrefix}visits:{${linkId}}`;
    let reply = await this.send(key, maxClicks, '');
    if (reply === -1) {
      // A database failure rejects: the redirect answers it as the outage it is (503).
      const seed = await this.seeds.read(linkId, this.stored);
      reply = await this.send(key, maxClicks, String(seed));
    }
    if (reply === 'unavailable') return reply;
    return reply === 1 ? 'reserved' : 'exhausted';
  }

  private async send(key: string, cap: number, seed: string): Promise<number | 'unavailable'> {
    const send = () => this.redis.reserveVisit(key, cap, seed, VISIT_COUNTER_TTL_MS);
    try {
      return await (this.health ? this.health.run(send) : send());
    } catch {
      return 'unavailable';
    }
  }
}

/**
 * Visit counters in this process, for the embedded profile without Redis: each starts from the
 * database and is exact as long as this process is the only one that redirects. Several api
 * processes without Redis each count on their own and cannot enforce a cap together.
 */
export class LocalVisitCounter implements VisitCounter {
  private readonly counts = new Map<string, number>();
  private readonly seeds = new Seeds();

  constructor(private readonly stored: StoredClicks) {}

  async reserve(linkId: string, maxClicks: number): Promise<Reservation> {
    if (!this.counts.has(linkId)) {
      const seed = await this.seeds.read(linkId, this.stored);
      // Another visit may have seeded it while this one waited: that count stands.
      if (!this.counts.has(linkId)) this.counts.set(linkId, seed);
    }
    const count = this.counts.get(linkId) ?? 0;
    if (count >= maxClicks) return 'exhausted';
    this.counts.set(linkId, count + 1);
    return 'reserved';
  }
}

/** Database reads of stored clicks, one at a time per link however many visits wait on it. */
class Seeds {
  private readonly reads = new Map<string, Promise<number>>();

  read(linkId: string, stored: StoredClicks): Promise<number> {
    let read = this.reads.get(linkId);
    if (!read) {
      read = stored(linkId).finally(() => this.reads.delete(linkId));
      this.reads.set(linkId, read);
    }
    return read;
  }
}

/**
 * The process's visit counter: in Redis when REDIS_URL is set (shared by every instance), in
 * process otherwise.
 */
@Injectable()
export class VisitCaps implements VisitCounter {
  private readonly counter: VisitCounter;

  constructor(
    links: LinksRepository,
    config: RedisConfig,
    @Optional() @Inject(REDIS) redis: Redis | null = null,
  ) {
    const stored: StoredClicks = (linkId) => links.storedClicks(linkId);
    this.counter = redis
      ? new RedisVisitCounter(redis, config.keyPrefix, stored)
      : new LocalVisitCounter(stored);
  }

  reserve(linkId: string, maxClicks: number): Promise<Reservation> {
    return this.counter.reserve(linkId, maxClicks);
  }
}

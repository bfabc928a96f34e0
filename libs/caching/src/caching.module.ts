import {
  Inject,
  Injectable,
  Module,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CacheConfig, RedisConfig } from '@app/config';
import { withTimeout } from '@app/core';
import { counter, hotCounter, ROOT_LOGGER, type HotCounter, type Logger } from '@app/observability';
import { closeRedis, REDIS, watchRedis } from '@app/redis';
import type { Redis } from 'ioredis';
import { RedisEvictionBus, RedisSharedTier, RedisWarmBus } from './redis-tier';
import {
  TwoTierCache,
  type CacheCodec,
  type LookupResult,
  type LookupTier,
} from './two-tier-cache';

/** How long start-up waits for the eviction subscriptions before serving without them. */
const SUBSCRIBE_WAIT_MS = 2000;

const lookupsTotal = () =>
  counter({
    name: 'snip_cache_lookups_total',
    help: 'Cache look-ups by tier (l1, l2, primary database) and result',
    labelNames: ['tier', 'result'] as const,
  });

const coalescedTotal = () =>
  counter({
    name: 'snip_cache_coalesced_total',
    help: 'Look-ups that joined one already in flight for the same key',
  });

const errorsTotal = () =>
  counter({
    name: 'snip_cache_errors_total',
    help: 'Shared-tier (Redis) operations that failed; the cache carried on without it',
    labelNames: ['operation'] as const,
  });

/**
 * Builds the process's two-tier caches: L1 in process, L2 and cross-instance eviction in Redis
 * when REDIS_URL is set, L1 alone otherwise. One dedicated connection carries the evictions.
 */
@Injectable()
export class CacheFactory implements OnModuleInit, OnApplicationShutdown {
  private readonly lookups = lookupsTotal();
  private readonly coalesced = coalescedTotal();
  private readonly errors = errorsTotal();
  private readonly caches: { clearLocal(): void }[] = [];
  private readonly subscriptions: Promise<void>[] = [];
  private subscriber?: Redis;

  constructor(
    private readonly config: CacheConfig,
    private readonly redisConfig: RedisConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(REDIS) private readonly redis: Redis | null = null,
  ) {}

  /**
   * A cache named `name` (its Redis keys are `<REDIS_KEY_PREFIX>cache:<name>:<key>`).
   * `staleIfError`: the load failures for which an expired L1 entry is served instead, for up to
   * CACHE_STALE_IF_ERROR_MS past its TTL (such as an unreachable database); none by default.
   */
  create<T extends object>(
    name: string,
    codec: CacheCodec<T>,
    staleIfError?: (error: unknown) => boolean,
  ): TwoTierCache<T> {
    const counted: Partial<Record<LookupTier, Partial<Record<LookupResult, HotCounter>>>> = {};
    const onLookup = (tier: LookupTier, result: LookupResult): void => {
      const byResult = (counted[tier] ??= {});
      (byResult[result] ??= hotCounter(this.lookups, { tier, result })).inc();
    };
    const onError = (operation: string, error: unknown): void => {
      this.errors.inc({ operation });
      this.logger.debug({ err: error, cache: name, operation }, 'cache tier operation failed');
    };
    const prefix = `${this.redisConfig.keyPrefix}cache:${name}:`;
    const bus = this.redis ? new RedisEvictionBus(this.redis, `${prefix}evict`) : undefined;
    const warmBus = this.redis ? new RedisWarmBus(this.redis, `${prefix}warm`) : undefined;
    const cache = new TwoTierCache<T>({
      codec,
      l1MaxEntries: this.config.l1MaxEntries,
      l1TtlMs: this.config.l1TtlMs,
      l2TtlMs: this.config.l2TtlSeconds * 1000,
      negativeTtlMs: this.config.negativeTtlMs,
      staleIfErrorMs: this.config.staleIfErrorMs,
      staleIfError,
      shared: this.redis ? new RedisSharedTier(this.redis, prefix) : undefined,
      bus,
      warmBus,
      onLookup,
      onCoalesced: () => this.coalesced.inc(),
      onError,
    });
    if (bus) this.subscriptions.push(bus.listen(this.eviction(), (key) => cache.evictLocal(key)));
    // Another instance warmed keys: read them from L2 into this L1 (bounded by its size).
    if (warmBus) {
      const load = (keys: string[]): void => {
        cache.loadLocal(keys).catch((error: unknown) => onError('warm', error));
      };
      this.subscriptions.push(warmBus.listen(this.eviction(), load));
    }
    this.caches.push(cache);
    return cache;
  }

  /**
   * Waits a moment for every cache to listen for evictions. A Redis that is down at boot does not
   * stop the api: the subscriptions complete when it comes back, and until then L1 entries expire
   * after their short TTL.
   */
  async onModuleInit(): Promise<void> {
    const ready = await withTimeout(Promise.all(this.subscriptions), SUBSCRIBE_WAIT_MS).then(
      () => true,
      () => false,
    );
    if (!ready) {
      this.logger.warn('redis not reachable at start: cache evictions resume once it is back');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.subscriber);
  }

  private eviction(): Redis {
    if (this.subscriber) return this.subscriber;
    // Commands wait for the connection (no retry limit), so SUBSCRIBE lands once Redis is up.
    const subscriber = (this.redis as Redis).duplicate({
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
    });
    let connectedBefore = false;
    subscriber.on('ready', () => {
      // Evictions published while the subscription was down are lost: start L1 afresh.
      if (connectedBefore) for (const cache of this.caches) cache.clearLocal();
      connectedBefore = true;
    });
    // Its 'error' listener and one log line per outage; no probes: it sends no commands to time out.
    watchRedis(subscriber, { name: 'cache-evictions', logger: this.logger, probeIntervalMs: 0 });
    this.subscriber = subscriber;
    return subscriber;
  }
}

/** Provides CacheFactory; uses the global REDIS client when RedisModule is loaded. */
@Module({ providers: [CacheFactory], exports: [CacheFactory] })
export class CachingModule {}

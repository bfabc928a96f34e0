export { CacheFactory, CachingModule } from './caching.module';
export { RedisEvictionBus, RedisSharedTier } from './redis-tier';
export { thenMaybe, TwoTierCache } from './two-tier-cache';
export type {
  CacheCodec,
  EvictionBus,
  LookupResult,
  LookupTier,
  MaybePromise,
  SharedTier,
  TwoTierCacheOptions,
} from './two-tier-cache';

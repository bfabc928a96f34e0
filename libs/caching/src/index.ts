export { CacheFactory, CachingModule } from './caching.module';
export { RedisEvictionBus, RedisSharedTier } from './redis-tier';
export { TwoTierCache } from './two-tier-cache';
export type {
  CacheCodec,
  EvictionBus,
  LookupResult,
  LookupTier,
  SharedTier,
  TwoTierCacheOptions,
} from './two-tier-cache';

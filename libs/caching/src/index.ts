export { CacheFactory, CachingModule } from './caching.module';
export { TwoTierCache } from './two-tier-cache';
export type { CacheCodec } from './two-tier-cache';

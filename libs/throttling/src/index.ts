export {
  applyRateLimit,
  hit,
  ipTracker,
  isLoopback,
  RateLimitGuard,
  rateLimited,
  rateLimitOutcome,
  trackerKey,
} from './rate-limit';
export { RedisThrottlerStorage } from './redis-throttler.storage';
export type { RateLimitRecord } from './redis-throttler.storage';

export {
  hit,
  ipTracker,
  isLoopback,
  RateLimitGuard,
  rateLimitOutcome,
  trackerKey,
} from './rate-limit';
export { RedisThrottlerStorage } from './redis-throttler.storage';
export type { RateLimitRecord } from './redis-throttler.storage';
export { RATE_LIMIT_STORAGE, ThrottlingModule } from './throttling.module';

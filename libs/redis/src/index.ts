export { closeRedis, createRedis, ReleasingScript, sendReleasing } from './redis';
export {
  FAILURES_TO_OPEN,
  redisHealth,
  RedisHealth,
  RedisUnavailableError,
  watchRedis,
} from './redis-health';
export type { RedisHealthOptions } from './redis-health';
export { REDIS, RedisModule } from './redis.module';

export { closeRedis, createRedis, redisReady, ReleasingScript, sendReleasing } from './redis';
export { redisHealth, RedisHealth, watchRedis } from './redis-health';
export { REDIS, RedisModule } from './redis.module';

export { closeRedis, createRedis, ReleasingScript, sendReleasing } from './redis';
export { REDIS, RedisModule } from './redis.module';

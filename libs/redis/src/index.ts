export { closeRedis, createRedis, sendReleasing } from './redis';
export { REDIS, RedisModule } from './redis.module';

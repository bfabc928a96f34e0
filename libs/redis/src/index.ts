export { closeRedis, createRedis } from './redis';
export { REDIS, RedisModule } from './redis.module';

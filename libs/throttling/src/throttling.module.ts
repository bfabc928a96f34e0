import { Module } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { RedisConfig } from '@app/config';
import { REDIS } from '@app/redis';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/** The injection token of the process's rate-limit storage (a @nestjs/throttler ThrottlerStorage). */
export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');

/**
 * The process's rate-limit counters: in Redis when it is configured, shared by every instance (one
 * Lua script per hit), else in memory, per process. Whatever counts hits imports this module and
 * injects RATE_LIMIT_STORAGE: the API's throttler (RateLimitGuard) is configured with it, and the
 * redirect's optional per-IP limit counts in it too.
 */
@Module({
  providers: [
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [RedisConfig, REDIS],
      useFactory: (config: RedisConfig, redis: Redis | null): ThrottlerStorage =>
        redis ? new RedisThrottlerStorage(redis, config.keyPrefix) : new ThrottlerStorageService(),
    },
  ],
  exports: [RATE_LIMIT_STORAGE],
})
export class ThrottlingModule {}

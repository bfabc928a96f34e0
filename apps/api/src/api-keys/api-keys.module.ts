import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, ThrottlerStorageService } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { FastifyRequest } from 'fastify';
import { RedisConfig } from '@app/config';
import { REDIS } from '@app/redis';
import { RateLimitGuard, RedisThrottlerStorage, trackerKey } from '@app/throttling';
import type { Redis } from 'ioredis';
import { ApiAccess, ApiAuthGuard, isApiRoute } from './api-access';
import { ApiKey } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

const MINUTE_MS = 60_000;

/** API keys and who calls: for the guards below and the command line's neighbours. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  providers: [ApiKeysRepository, ApiKeysService, ApiAccess],
  exports: [ApiKeysService, ApiAccess],
})
class ApiKeysCoreModule {}

/** Key management, and the guards every /api route passes: the rate limit, then the key. */
@Module({
  imports: [
    ApiKeysCoreModule,
    ThrottlerModule.forRootAsync({
      imports: [ApiKeysCoreModule],
      inject: [ApiAccess, RedisConfig, REDIS],
      useFactory: (access: ApiAccess, redisConfig: RedisConfig, redis: Redis | null) => ({
        // Shared by every instance through Redis; per process without it.
        storage: redis
          ? new RedisThrottlerStorage(redis, redisConfig.keyPrefix)
          : new ThrottlerStorageService(),
        throttlers: [
          {
            name: 'api',
            ttl: MINUTE_MS,
            limit: (context) => access.limit(context.switchToHttp().getRequest<FastifyRequest>()),
          },
        ],
        skipIf: (context) =>
          context.getType() !== 'http' ||
          !isApiRoute(context.switchToHttp().getRequest<FastifyRequest>()),
        getTracker: (request) => access.tracker(request as FastifyRequest),
        generateKey: trackerKey,
      }),
    }),
  ],
  controllers: [ApiKeysController],
  providers: [
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: ApiAuthGuard },
  ],
})
export class ApiKeysModule {}

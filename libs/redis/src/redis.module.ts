import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { RedisConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from './redis';
import { watchRedis } from './redis-health';

/** Injection token of the shared ioredis client, or null when REDIS_URL is not set. */
export const REDIS = Symbol('REDIS');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}

/**
 * Provides one shared Redis client for the process (`@Inject(REDIS)`), or null in the embedded
 * default, so that each feature picks its in-process fallback. Blocking commands (XREADGROUP
 * BLOCK, SUBSCRIBE) need a connection of their own: `createRedis(config)` or `redis.duplicate()`.
 */
@Global()
@Module({})
export class RedisModule {
  static forRoot(): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS,
          inject: [RedisConfig, ROOT_LOGGER],
          useFactory: (config: RedisConfig, logger: Logger): Redis | null => {
            if (!config.url) return null;
            const redis = createRedis(config);
            // ioredis reconnects by itself. The tracker is its 'error' listener (without one ioredis
            // prints every failure to stderr), logs once per change between up and down, and lets
            // the cache and the rate limits skip a Redis known to be down (redisHealth(redis)).
            watchRedis(redis, {
              name: 'shared',
              logger,
              probeIntervalMs: config.probeIntervalMs,
            });
            return redis;
          },
        },
        RedisCloser,
      ],
      exports: [REDIS],
    };
  }
}

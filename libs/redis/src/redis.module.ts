import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { RedisConfig } from '@app/config';
import type { Redis } from 'ioredis';
import { createRedis } from './redis';

/** Injection token of the shared ioredis client, or null when REDIS_URL is not set. */
export const REDIS = Symbol('REDIS');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis && this.redis.status !== 'end') {
      await this.redis.quit().catch(() => this.redis?.disconnect());
    }
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
          inject: [RedisConfig],
          useFactory: (config: RedisConfig): Redis | null =>
            config.url ? createRedis(config) : null,
        },
        RedisCloser,
      ],
      exports: [REDIS],
    };
  }
}

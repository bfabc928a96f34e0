import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ConfigModule } from '@app/config';
import { DatabaseModule, type DatabaseReachability } from '@app/database';
import { ObservabilityModule, type Logger } from '@app/observability';
import { RedisModule } from '@app/redis';
import { RATE_LIMIT_STORAGE, RateLimitGuard, ThrottlingModule } from '@app/throttling';
import { ApiAccess, ApiAuthGuard, apiThrottling } from './api-keys/api-access';
import { ApiKeysModule } from './api-keys/api-keys.module';
import type { ApiConfig } from './config';
import { HealthModule } from './health/health.module';
import { LinksApiModule } from './links/links.module';
import { RedirectModule } from './redirect/redirect.module';
import { StatsModule } from './stats/stats.module';

@Module({})
export class AppModule {
  static forRoot(
    config: ApiConfig,
    logger: Logger,
    reachability?: DatabaseReachability,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger }),
        DatabaseModule.forRoot(reachability),
        RedisModule.forRoot(),
        // The API's rate limit (RateLimitGuard below): per key or per client IP, counted in the
        // shared rate-limit storage.
        ThrottlerModule.forRootAsync({
          imports: [ApiKeysModule, ThrottlingModule],
          inject: [ApiAccess, RATE_LIMIT_STORAGE],
          useFactory: apiThrottling,
        }),
        HealthModule,
        ApiKeysModule,
        LinksApiModule,
        StatsModule,
        // Last, so that its catch-all `/:code` is declared after every fixed route.
        RedirectModule,
      ],
      providers: [
        // Every route passes both guards, in this order; they act on routes under /api/ only.
        // The rate limit runs first, so that requests with a bad key are counted (per IP) too.
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: ApiAuthGuard },
      ],
    };
  }
}

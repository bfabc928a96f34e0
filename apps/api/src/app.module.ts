import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import { DatabaseModule, type DatabaseReachability } from '@app/database';
import { ObservabilityModule, type Logger } from '@app/observability';
import { RedisModule } from '@app/redis';
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
        HealthModule,
        ApiKeysModule,
        LinksApiModule,
        StatsModule,
        // Last, so that its catch-all `/:code` is declared after every fixed route.
        RedirectModule,
      ],
    };
  }
}

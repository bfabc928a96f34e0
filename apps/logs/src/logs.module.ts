import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AnalyticsModule } from '@app/analytics';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ObservabilityModule, type Logger } from '@app/observability';
import { CLICK_CONSUMER, type ClickConsumer } from './click-consumer';
import { ClicksController } from './clicks.controller';
import type { LogsConfig } from './config';
import { HealthController } from './health.controller';
import { RetentionScheduler } from './retention.scheduler';

@Module({})
export class LogsModule {
  static forRoot(config: LogsConfig, logger: Logger, consumer: ClickConsumer): DynamicModule {
    return {
      module: LogsModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger }),
        DatabaseModule.forRoot(),
        TerminusModule.forRoot({ logger: false }),
        AnalyticsModule,
      ],
      controllers: [ClicksController, HealthController],
      providers: [{ provide: CLICK_CONSUMER, useValue: consumer }, RetentionScheduler],
    };
  }
}

import { DynamicModule, Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register } from 'prom-client';
import { ROOT_LOGGER, type Logger } from './logger';

export interface ObservabilityOptions {
  readonly logger: Logger;
}

/**
 * Provides the process logger (`ROOT_LOGGER`) and serves `/metrics` for Prometheus, with Node's
 * default process metrics.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    // Collected once per process, whatever the number of Nest applications in it.
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
    return {
      module: ObservabilityModule,
      imports: [
        PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: false } }),
      ],
      providers: [{ provide: ROOT_LOGGER, useValue: options.logger }],
      exports: [ROOT_LOGGER],
    };
  }
}

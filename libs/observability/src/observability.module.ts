import { DynamicModule, Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register, type Gauge } from 'prom-client';
import { ROOT_LOGGER, type Logger } from './logger';
import { MetricsController } from './metrics.controller';

const REDUNDANT_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

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
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) {
      collectDefaultMetrics();
      // These three are gauges whose names end in _total, which Prometheus reserves for counters
      // (`promtool check metrics` fails on them); their sums are the same gauges without the
      // suffix (nodejs_active_handles and so on, by type), which stay.
      for (const name of REDUNDANT_DEFAULT_GAUGES) register.removeSingleMetric(name);
      // Summed over the workers of WEB_CONCURRENCY it would be dropped ('omit'): the latest start
      // of any worker stays, which is also when their summed counters last went down.
      const startTime = register.getSingleMetric('process_start_time_seconds') as Gauge | undefined;
      if (startTime) Object.assign(startTime, { aggregator: 'max' });
    }
    return {
      module: ObservabilityModule,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          defaultMetrics: { enabled: false },
          controller: MetricsController,
        }),
      ],
      providers: [{ provide: ROOT_LOGGER, useValue: options.logger }],
      exports: [ROOT_LOGGER],
    };
  }
}

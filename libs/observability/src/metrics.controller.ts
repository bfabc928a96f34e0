import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { isWorker, metricsOfEveryWorker } from './cluster';
import { ROOT_LOGGER, type Logger } from './logger';

/**
 * GET /metrics. In a worker of several (WEB_CONCURRENCY), one scrape answers for all of them: the
 * primary gathers every worker's registry and aggregates it (see cluster.ts), so the series and
 * their names are those of a single process. When a worker does not send its metrics in time the
 * scrape answers 503 SERVICE_UNAVAILABLE: a missing scrape, not counters that seem to go down.
 */
@Controller()
export class MetricsController extends PrometheusController {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    if (!isWorker()) return super.index(response);
    const text = await metricsOfEveryWorker().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'metrics of every worker not available');
      throw new ServiceUnavailableException('The metrics of every worker are not available.');
    });
    (response as { header(name: string, value: string): void }).header(
      'Content-Type',
      register.contentType,
    );
    return text;
  }
}

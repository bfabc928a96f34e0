import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { isWorker, metricsOfEveryWorker } from './cluster';

/**
 * GET /metrics. In a worker of several (WEB_CONCURRENCY), one scrape answers for all of them: the
 * primary gathers every worker's registry and sums it (see cluster.ts), so the series and their
 * names are those of a single process.
 */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override async index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    if (!isWorker()) return super.index(response);
    const text = await metricsOfEveryWorker();
    (response as { header(name: string, value: string): void }).header(
      'Content-Type',
      register.contentType,
    );
    return text;
  }
}

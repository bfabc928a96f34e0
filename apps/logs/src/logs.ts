import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ClickIngestService } from '@app/analytics';
import { sampleQueueDepth } from '@app/clicks';
import { createHttpApp, httpFrontOf } from '@app/http';
import { createLogger, type Logger } from '@app/observability';
import type { LogsConfig } from './config';
import { LogsModule } from './logs.module';
import { clickMicroservice, prepareRabbitMq } from './transport';

export interface RunningLogs {
  readonly app: NestFastifyApplication;
  /** Where health and metrics are served, such as http://127.0.0.1:3001. */
  readonly url: string;
  /** Stops consuming, lets the batch in hand commit and be acknowledged, then closes. */
  close(): Promise<void>;
}

/**
 * Starts the logs worker: the click consumer of the configured transport (a Nest microservice)
 * and a small HTTP listener for /health and /metrics, in one hybrid Nest application.
 */
export async function startLogs(
  config: LogsConfig,
  logger: Logger = createLogger({ service: 'logs', level: config.app.logLevel }),
): Promise<RunningLogs> {
  if (config.database.mode !== 'postgres') {
    throw new Error('the logs worker needs DATABASE_URL (the embedded database is the api’s own)');
  }
  const microservice = clickMicroservice(config, logger);
  if (config.clicks.transport === 'rmq') await prepareRabbitMq(config);
  const app = await createHttpApp(LogsModule.forRoot(config, logger, microservice.strategy), {
    logger,
    bodyLimitBytes: config.app.bodyLimitBytes,
    maxUrlLength: config.app.maxUrlLength,
    quietRoutes: ['/health/live', '/health/ready', '/metrics'],
    readinessRoute: '/health/ready',
    headersTimeoutMs: config.app.headersTimeoutMs,
    requestTimeoutMs: config.app.requestTimeoutMs,
    keepAliveTimeoutMs: config.app.keepAliveTimeoutMs,
  });
  let stopSampling: (() => Promise<void>) | undefined;
  try {
    app.connectMicroservice(microservice, { inheritAppConfig: true });
    await app.init();
    await app.get(ClickIngestService).warmUp();
    await app.startAllMicroservices();
    await app.listen({ port: config.worker.port, host: config.app.host });
    if (config.clicks.transport === 'rmq' && config.clicks.rabbitmqUrl) {
      stopSampling = sampleQueueDepth(config.clicks.rabbitmqUrl, config.clicks.queue, 5000, logger);
    }
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    app,
    url: `http://${host}:${address.port}`,
    async close() {
      await httpFrontOf(app.getHttpAdapter().getInstance()).drain(config.app.shutdownDrainDelayMs);
      await stopSampling?.();
      await app.close();
    },
  };
}

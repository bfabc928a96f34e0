import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { SnipConfig } from '@app/config';
import { resolveDatabase } from '@app/database';
import { createHttpApp, createLogger, httpFrontOf, type Logger } from '@app/observability';
import { AppModule } from './app.module';
import { ApiValidationPipe } from './validation';

export interface RunningApi {
  readonly app: NestFastifyApplication;
  /** Where the api listens, such as http://127.0.0.1:3000. */
  readonly url: string;
  /** Drains HTTP (see HttpFront.drain), closes the app, the pool and the embedded database. */
  close(): Promise<void>;
}

function setupSwagger(app: NestFastifyApplication, config: SnipConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('snip')
      .setDescription(
        'URL shortener API. Errors are RFC 9457 problem+json documents with a stable `code`.',
      )
      .setVersion('1')
      .addServer(config.app.publicBaseUrl)
      .addApiKey({ type: 'apiKey', name: 'X-Api-Key', in: 'header' }, 'api-key')
      .build(),
  );
  // Operational endpoints are for Prometheus and load balancers, not API clients.
  delete document.paths['/metrics'];
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}

/** Starts the api on `config`: the embedded database if no DATABASE_URL, then HTTP. */
export async function startApi(
  config: SnipConfig,
  logger: Logger = createLogger({ service: 'api', level: config.app.logLevel }),
): Promise<RunningApi> {
  const database = await resolveDatabase(config);
  let app: NestFastifyApplication | undefined;
  try {
    app = await createHttpApp(AppModule.forRoot(database.config, logger), {
      logger,
      bodyLimitBytes: config.app.bodyLimitBytes,
      maxUrlLength: config.app.maxUrlLength,
      trustedProxies: config.throttle.trustedProxies,
      quietRoutes: ['/health/live', '/health/ready', '/metrics'],
      readinessRoute: '/health/ready',
      headersTimeoutMs: config.app.headersTimeoutMs,
      requestTimeoutMs: config.app.requestTimeoutMs,
      keepAliveTimeoutMs: config.app.keepAliveTimeoutMs,
      accessLogSampleRates: { '/:code': config.app.redirectAccessLogSampleRate },
    });
    app.useGlobalPipes(new ApiValidationPipe());
    if (config.app.swaggerEnabled) setupSwagger(app, config);
    await app.listen({ port: config.app.port, host: config.app.host });
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.close();
    throw error;
  }
  const address = app.getHttpServer().address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const running = app;
  return {
    app: running,
    url: `http://${host}:${address.port}`,
    async close() {
      // Readiness 503, SHUTDOWN_DRAIN_DELAY_MS, then no connection left (see HttpFront.drain).
      await httpFrontOf(running.getHttpAdapter().getInstance()).drain(
        config.app.shutdownDrainDelayMs,
      );
      await running.close();
      await database.close();
    },
  };
}

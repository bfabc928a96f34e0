import type { AddressInfo } from 'node:net';
import { NotFoundException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { withLocalCodeSecret } from '@app/config';
import { DatabaseReachability, resolveDatabase } from '@app/database';
import { createHttpApp, httpFrontOf, sendProblem, toProblem } from '@app/http';
import { createLogger, type Logger } from '@app/observability';
import { AppModule } from './app.module';
import type { ApiConfig } from './config';
import { completeDocument } from './openapi';
import { ApiValidationPipe } from './validation';

export interface RunningApi {
  readonly app: NestFastifyApplication;
  /** Where the api listens, such as http://127.0.0.1:3000. */
  readonly url: string;
  /** Drains HTTP (see HttpFront.drain), closes the app, the pool and the embedded database. */
  close(): Promise<void>;
}

function setupSwagger(app: NestFastifyApplication, config: ApiConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('snip')
      .setDescription(
        'URL shortener API. Errors are RFC 9457 problem+json documents with a stable `code`.',
      )
      .setVersion('1')
      .addServer(config.api.publicBaseUrl)
      .addApiKey({ type: 'apiKey', name: 'X-Api-Key', in: 'header' }, 'api-key')
      .build(),
  );
  completeDocument(document, config.auth, config.links);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  // The Swagger UI page needs these files of swagger-ui-dist, which is served as a folder under
  // /docs/; its other files (the stock petstore initializer, package.json, source maps) are 404.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      const path = request.url.split('?', 1)[0]!;
      if (path.startsWith('/docs/') && !SWAGGER_UI_FILES.has(path.slice('/docs/'.length))) {
        sendProblem(request, reply, toProblem(new NotFoundException(`Cannot GET ${path}`)));
        return;
      }
      done();
    });
}

/** What /docs/ serves besides the page: what its HTML loads, and the OAuth2 redirect page. */
const SWAGGER_UI_FILES = new Set([
  '',
  'index.html',
  'swagger-ui-init.js',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'swagger-ui.css',
  'favicon-16x16.png',
  'favicon-32x32.png',
  'oauth2-redirect.html',
  'oauth2-redirect.js',
]);

/**
 * Starts the api on `loaded`: the short-code secret kept in DATA_DIR if none is configured, the
 * embedded database if no DATABASE_URL, then HTTP.
 */
export async function startApi(
  loaded: ApiConfig,
  logger: Logger = createLogger({ service: 'api', level: loaded.app.logLevel }),
): Promise<RunningApi> {
  const config = withLocalCodeSecret(loaded);
  const database = await resolveDatabase(config);
  let app: NestFastifyApplication | undefined;
  try {
    // One tracker for the whole app: the log says once that the database is gone, once it is back.
    const reachability = new DatabaseReachability(logger);
    app = await createHttpApp(AppModule.forRoot(database.config, logger, reachability), {
      logger,
      bodyLimitBytes: config.app.bodyLimitBytes,
      maxUrlLength: config.app.maxUrlLength,
      trustedProxies: config.throttle.trustedProxies,
      quietRoutes: ['/health/live', '/health/ready', '/metrics'],
      readinessRoute: '/health/ready',
      headersTimeoutMs: config.app.headersTimeoutMs,
      requestTimeoutMs: config.app.requestTimeoutMs,
      keepAliveTimeoutMs: config.app.keepAliveTimeoutMs,
      accessLogSampleRates: { '/:code': config.api.redirectAccessLogSampleRate },
      errorTranslators: [reachability.translate],
    });
    app.useGlobalPipes(new ApiValidationPipe());
    if (config.api.swaggerEnabled) setupSwagger(app, config);
    await app.listen({ port: config.api.port, host: config.app.host });
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

import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HttpFront, requestIdOf } from './http-front';
import { DomainError, toProblem, type ErrorTranslator } from './problem';
import { ProblemDetailsFilter, sendProblem } from './problem.filter';
import { NestPinoLogger } from './logger';

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  readonly maxUrlLength: number;
  /** Routes (templates) left out of access logs, such as health checks and metrics. */
  readonly quietRoutes?: readonly string[];
  /** Per route template, the share of requests (0..1) that get an access log line. Default 1. */
  readonly accessLogSampleRates?: Readonly<Record<string, number>>;
  /**
   * Addresses or CIDR blocks of reverse proxies. `request.ip` is taken from X-Forwarded-For only
   * through these peers; from anyone else it is the socket address. Default: none.
   */
  readonly trustedProxies?: readonly string[];
  /**
   * Turn errors of other libraries into problems before the filter falls back to a 500, such as
   * the database's DATABASE_UNAVAILABLE (503). Tried in order; default: none.
   */
  readonly errorTranslators?: readonly ErrorTranslator[];
}

/** What the server factory reads of Fastify's options (Fastify's defaults already applied). */
interface ServerSettings {
  readonly http?: ServerOptions;
  readonly keepAliveTimeout?: number;
  readonly requestTimeout?: number;
  readonly connectionTimeout?: number;
}

const fronts = new WeakMap<object, HttpFront>();

/** The request front of an application made by `createHttpApp` (see `HttpFront`). */
export function httpFrontOf(fastify: FastifyInstance): HttpFront {
  const front = fronts.get(fastify);
  if (!front) throw new Error('httpFrontOf: not an application made by createHttpApp');
  return front;
}

/**
 * Creates a Nest application on Fastify with what every snip HTTP listener shares: request ids
 * (`x-request-id`, accepted from the client when well-formed), problem+json errors, a request
 * duration histogram labelled by route template, sampled access logs, graceful shutdown, and a
 * front (`httpFrontOf`) where one route may be answered ahead of Fastify.
 */
export async function createHttpApp(
  module: Type | DynamicModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const { logger } = options;
  const front = new HttpFront(options);
  const adapter = new FastifyAdapter({
    logger: false,
    // No Nest middleware anywhere: without middie, no request pays for its onRequest hook.
    skipMiddie: true,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
    requestIdHeader: false,
    genReqId: requestIdOf,
    return503OnClosing: true,
    // Malformed percent-encoding and over-long route parameters, rejected before any route runs.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      sendProblem(request, reply, toProblem(error));
    },
    forceCloseConnections: 'idle',
    // The server Fastify would make, with the front's listener ahead of Fastify's.
    serverFactory: (handler: RequestListener, settings: ServerSettings) => {
      const server = createServer(settings.http ?? {}, front.listener(handler));
      server.keepAliveTimeout = settings.keepAliveTimeout ?? 72_000;
      server.requestTimeout = settings.requestTimeout ?? 0;
      server.setTimeout(settings.connectionTimeout ?? 0);
      return server;
    },
  });
  const fastify = adapter.getInstance();
  fronts.set(fastify, front);
  // JSON is the only body snip reads. Fastify parses text/plain too, and Nest's body parser adds
  // forms: both are refused (415), which also keeps cross-site HTML forms from posting.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRoute', (route) => front.addRoute(route.url));

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (request.url.length > options.maxUrlLength) {
      sendProblem(
        request,
        reply,
        toProblem(
          new DomainError(
            414,
            'URI_TOO_LONG',
            'URI too long',
            `The request URI is longer than ${options.maxUrlLength} characters.`,
          ),
        ),
      );
      return;
    }
    done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    front.observe(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      request.url,
      request.id,
      reply.elapsedTime,
    );
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    bodyParser: false,
  });
  app.useGlobalFilters(new ProblemDetailsFilter(logger, options.errorTranslators));
  // No enableShutdownHooks(): Nest's handler re-raises the signal (exit 143) before the drain ends.
  // Each main() handles SIGTERM itself: close the app, then its resources, then exit 0.
  return app;
}

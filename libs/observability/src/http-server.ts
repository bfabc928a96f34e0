import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { httpRequestDuration } from './metrics';
import { DomainError, toProblem } from './problem';
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
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Creates a Nest application on Fastify with what every snip HTTP listener shares: request ids
 * (`x-request-id`, accepted from the client when well-formed), problem+json errors, a request
 * duration histogram labelled by route template, sampled access logs, and graceful shutdown.
 */
export async function createHttpApp(
  module: Type | DynamicModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const { logger } = options;
  const adapter = new FastifyAdapter({
    logger: false,
    // No Nest middleware anywhere: without middie, no request pays for its onRequest hook.
    skipMiddie: true,
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    return503OnClosing: true,
    // Malformed percent-encoding and over-long route parameters, rejected before any route runs.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      sendProblem(request, reply, toProblem(error));
    },
    forceCloseConnections: 'idle',
  });
  const fastify = adapter.getInstance();
  // JSON is the only body snip reads. Fastify parses text/plain too, and Nest's body parser adds
  // forms: both are refused (415), which also keeps cross-site HTML forms from posting.
  fastify.removeContentTypeParser('text/plain');
  const duration = httpRequestDuration();
  const durations = new Map<string, { observe(seconds: number): void }>();
  const quiet = new Set(options.quietRoutes ?? []);
  const sampleRates = options.accessLogSampleRates ?? {};

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
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    // One pre-bound child per (method, route, status): prom-client hashes a label set per call.
    // The set is bounded: Node's parser knows a fixed list of methods, routes are templates.
    const key = `${request.method} ${status} ${route}`;
    let child = durations.get(key);
    if (!child) {
      child = duration.labels(request.method, route, String(status));
      durations.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    if (!quiet.has(route)) {
      const rate = sampleRates[route] ?? 1;
      if (rate >= 1 || (rate > 0 && Math.random() < rate)) {
        logger.info(
          {
            reqId: request.id,
            method: request.method,
            route,
            path: request.url.split('?', 1)[0],
            status,
            ms: Math.round(reply.elapsedTime * 100) / 100,
          },
          'request',
        );
      }
    }
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    bodyParser: false,
  });
  app.useGlobalFilters(new ProblemDetailsFilter(logger));
  // No enableShutdownHooks(): Nest's handler re-raises the signal (exit 143) before the drain ends.
  // Each main() handles SIGTERM itself: close the app, then its resources, then exit 0.
  return app;
}

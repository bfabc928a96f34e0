import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HttpFront, requestIdOf } from './http-front';
import { decodeJsonBody } from './json-body';
import { DomainError, type ErrorTranslator } from '@app/core';
import { NestPinoLogger } from '@app/observability';
import { toProblem } from './problem';
import { ProblemDetailsFilter, sendProblem } from './problem.filter';

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
  /** Longest a client may take to send the headers of a request (408 and closed). Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Longest a client may take to send a whole request, body included (408). Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept. Default 72 s. */
  readonly keepAliveTimeoutMs?: number;
  /** The readiness route, answered 503 `shutting_down` as soon as a drain starts. */
  readonly readinessRoute?: string;
}

/** What the server factory reads of Fastify's options (Fastify's defaults already applied). */
interface ServerSettings {
  readonly http?: ServerOptions;
}

/**
 * How often Node checks for requests past the headers or request timeout. Node's default is
 * 30 s, which would let a slow client outlive a 10 s timeout threefold; a quarter of the shorter
 * timeout, between 100 ms and 1 s, keeps the overshoot small for the cost of a walk over the
 * connections that are mid-request.
 */
function connectionsCheckingInterval(headersTimeoutMs: number, requestTimeoutMs: number) {
  return Math.min(
    1000,
    Math.max(100, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 4)),
  );
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
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
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
    // The server Fastify would make, with the front's listener ahead of Fastify's. Node's own
    // timeouts, not Fastify's options: Fastify has none for the headers, and its requestTimeout
    // and keepAliveTimeout only set these same properties. A client slow to send its headers or
    // its body gets 408 and the connection closes; an idle keep-alive connection is closed.
    serverFactory: (handler: RequestListener, settings: ServerSettings) => {
      const server = createServer(
        {
          ...settings.http,
          headersTimeout,
          requestTimeout,
          connectionsCheckingInterval: connectionsCheckingInterval(headersTimeout, requestTimeout),
        },
        front.listener(handler),
      );
      server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 72_000;
      front.serve(server);
      return server;
    },
  });
  const fastify = adapter.getInstance();
  fronts.set(fastify, front);
  // JSON is the only body snip reads. Fastify parses text/plain too, and Nest's body parser adds
  // forms: both are refused (415), which also keeps cross-site HTML forms from posting.
  fastify.removeContentTypeParser('text/plain');
  // Fastify's JSON parser (secure-json-parse: no `__proto__` keys), after a strict UTF-8 decode
  // and a depth check that keeps deep documents away from class-transformer's recursion.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeJsonBody(body as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    void parseJson(request, text, done);
  });
  fastify.addHook('onRoute', (route) => front.addRoute(route.url));

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (request.url.length > options.maxUrlLength) {
      sendProblem(
        request,
        reply,
        toProblem(
          new DomainError(
            'URI_TOO_LONG',
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

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger } from 'pino';
import { httpRequestDuration } from './metrics';

/** Answers a request and returns true, or returns false, untouched, to let Fastify have it. */
export type FrontHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is well-formed, else a fresh UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

export interface HttpFrontOptions {
  readonly logger: Logger;
  /** Routes (templates) left out of access logs, such as health checks and metrics. */
  readonly quietRoutes?: readonly string[];
  /** Per route template, the share of requests (0..1) that get an access log line. Default 1. */
  readonly accessLogSampleRates?: Readonly<Record<string, number>>;
  /** Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed. */
  readonly trustedProxies?: readonly string[];
}

/**
 * What every request passes through, before and around Fastify: the request's metrics and access
 * log line, and an optional front handler that may answer a request before Fastify routes it.
 *
 * The front handler exists for one route, the redirect: a request it recognises is answered
 * straight on Node's response, without Fastify's routing, hooks and reply, or Nest's request
 * hooks; everything else goes on to Fastify untouched. Requests answered in front get the same
 * request id, duration histogram and access log as Fastify's (see `observe`).
 */
export class HttpFront {
  private handler: FrontHandler | undefined;
  private readonly fixedPaths = new Set<string>();
  private readonly duration = httpRequestDuration();
  private readonly quiet: ReadonlySet<string>;
  private readonly sampleRates: Readonly<Record<string, number>>;
  private readonly trust: ((address: string, hop: number) => boolean) | undefined;

  constructor(private readonly options: HttpFrontOptions) {
    this.quiet = new Set(options.quietRoutes ?? []);
    this.sampleRates = options.accessLogSampleRates ?? {};
    this.trust = options.trustedProxies?.length
      ? proxyAddr.compile([...options.trustedProxies])
      : undefined;
  }

  /** Sets the front handler (one per server). */
  use(handler: FrontHandler): void {
    this.handler = handler;
  }

  /** The server's request listener: the front handler first, then Fastify. */
  listener(fastify: (request: IncomingMessage, response: ServerResponse) => void) {
    return (request: IncomingMessage, response: ServerResponse): void => {
      if (this.handler === undefined || !this.handler(request, response))
        fastify(request, response);
    };
  }

  /** Records a route Fastify serves; paths without parameters stay Fastify's (see `isFixedPath`). */
  addRoute(url: string): void {
    if (!url.includes(':') && !url.includes('*')) this.fixedPaths.add(url);
  }

  /** True for a path a parameterless route owns, such as `/metrics` or `/docs`. */
  isFixedPath(path: string): boolean {
    return this.fixedPaths.has(path);
  }

  /** The client address as Fastify computes it: X-Forwarded-For only through trusted proxies. */
  clientIp(request: IncomingMessage): string | undefined {
    return this.trust ? proxyAddr(request, this.trust) : request.socket.remoteAddress;
  }

  /** Times and (sampled) logs a finished request, by route template, never by concrete path. */
  observe(
    method: string,
    route: string,
    status: number,
    url: string,
    requestId: string,
    elapsedMs: number,
  ): void {
    // The label set is bounded: Node's parser knows a fixed list of methods, routes are templates.
    this.duration.labels(method, route, String(status)).observe(elapsedMs / 1000);
    if (this.quiet.has(route)) return;
    const rate = this.sampleRates[route] ?? 1;
    if (rate >= 1 || (rate > 0 && Math.random() < rate)) {
      this.options.logger.info(
        {
          reqId: requestId,
          method,
          route,
          path: url.split('?', 1)[0],
          status,
          ms: Math.round(elapsedMs * 100) / 100,
        },
        'request',
      );
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger } from 'pino';
import { DomainError, sleep } from '@app/core';
import { httpRequestDuration } from '@app/observability';
import { PROBLEM_CONTENT_TYPE, toProblem, type ProblemDocument } from './problem';
import { problemFor } from './problem.filter';
import { discardBody } from './request-body';

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
  /** Largest request body: a longer `Content-Length` is answered 413 here, its body discarded. */
  readonly bodyLimitBytes?: number;
  /** The readiness route, answered 503 `shutting_down` from the start of a drain (see `drain`). */
  readonly readinessRoute?: string;
}

/** How long a connection idle when a drain closes the listener may still send one request. */
const IDLE_GRACE_MS = 1000;

/** What the front knows of one connection. */
interface Connection {
  readonly socket: Socket;
  /** The response being written on it, if any (HTTP/1.1 without pipelining: one at a time). */
  response: ServerResponse | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

const shuttingDown = (): ProblemDocument =>
  toProblem(
    new DomainError(
      'SHUTTING_DOWN',
      'This instance is shutting down; send the request again (on a new connection).',
    ),
  );

const payloadTooLarge = (limit: number): ProblemDocument =>
  toProblem(
    new DomainError('PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes.`),
  );

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
  private phase: 'serving' | 'draining' | 'closing' = 'serving';
  private server: Server | undefined;
  private readonly connections = new Map<Socket, Connection>();
  private drained: (() => void) | undefined;

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

  /**
   * The server's request listener: requests refused whatever the route (during a shutdown, or
   * with a `Content-Length` over the body limit), then the front handler, then Fastify.
   */
  listener(fastify: (request: IncomingMessage, response: ServerResponse) => void) {
    const limit = this.options.bodyLimitBytes;
    return (request: IncomingMessage, response: ServerResponse): void => {
      const connection = this.connections.get(request.socket);
      if (connection) this.track(connection, response);
      if (this.phase !== 'serving' && this.refuseWhileStopping(request, response)) return;
      if (limit !== undefined) {
        const length = request.headers['content-length'];
        if (length !== undefined && Number(length) > limit) {
          this.refuse(request, response, payloadTooLarge(limit));
          return;
        }
      }
      if (this.handler === undefined || !this.handler(request, response))
        fastify(request, response);
    };
  }

  /** Tracks the connections of `server`, the one this front's listener serves, for `drain`. */
  serve(server: Server): void {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      const connection: Connection = { socket, response: undefined, idleTimer: undefined };
      this.connections.set(socket, connection);
      socket.once('close', () => {
        clearTimeout(connection.idleTimer);
        this.connections.delete(socket);
        if (this.connections.size === 0) this.drained?.();
      });
      if (this.phase === 'closing') this.closeWhenIdle(connection);
    });
  }

  /**
   * Drains the server without resetting a connection: readiness answers 503 `shutting_down` at
   * once while everything else is still served, for `delayMs` (for load balancers to notice);
   * then the listener closes, requests still arriving on open connections are answered 503
   * SHUTTING_DOWN with `Connection: close`, responses in flight get `Connection: close`, and a
   * connection idle for IDLE_GRACE_MS is closed. Resolves once every connection is closed.
   */
  async drain(delayMs: number): Promise<void> {
    if (this.phase !== 'serving') return;
    this.phase = 'draining';
    if (delayMs > 0) await sleep(delayMs);
    this.phase = 'closing';
    const server = this.server;
    if (!server) return;
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    // Node's http close() would also destroy every idle connection at once, resetting requests
    // already on their way; the connections are closed below, one by one, once idle.
    if (server.listening) NetServer.prototype.close.call(server);
    for (const connection of this.connections.values()) {
      const { response } = connection;
      if (response && !response.headersSent) response.setHeader('connection', 'close');
      this.closeWhenIdle(connection);
    }
    if (this.connections.size === 0) this.drained?.();
    await done;
  }

  private track(connection: Connection, response: ServerResponse): void {
    clearTimeout(connection.idleTimer);
    connection.response = response;
    response.once('close', () => {
      connection.response = undefined;
      if (this.phase === 'closing') this.closeWhenIdle(connection);
    });
  }

  /** Closes the connection if it stays idle for IDLE_GRACE_MS (a request on it meanwhile is answered). */
  private closeWhenIdle(connection: Connection): void {
    if (connection.response !== undefined) return;
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => {
      if (connection.response === undefined) connection.socket.destroy();
    }, IDLE_GRACE_MS);
  }

  /** Answers readiness with 503 during a drain, and anything at all once the listener closed. */
  private refuseWhileStopping(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.phase === 'closing') {
      this.refuse(request, response, shuttingDown(), { 'retry-after': '1', connection: 'close' });
      return true;
    }
    const route = this.options.readinessRoute;
    const url = request.url ?? '/';
    if (route === undefined || (url !== route && !url.startsWith(`${route}?`))) return false;
    const started = performance.now();
    const requestId = requestIdOf(request);
    const body = JSON.stringify({ status: 'shutting_down' });
    response.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
    this.observe(request.method ?? 'GET', route, 503, url, requestId, performance.now() - started);
    return true;
  }

  /**
   * Answers `problem` once the request's body is read and dropped (up to a bound; see
   * `discardBody`), so the client, still sending, sees the answer rather than a reset.
   */
  private refuse(
    request: IncomingMessage,
    response: ServerResponse,
    problem: ProblemDocument,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    const started = performance.now();
    const requestId = requestIdOf(request);
    const url = request.url ?? '/';
    void discardBody(request).then((ended) => {
      if (response.headersSent || response.destroyed) return;
      const body = JSON.stringify(problemFor(url, requestId, problem));
      response.writeHead(problem.status, {
        'content-type': PROBLEM_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
        'x-request-id': requestId,
        ...headers,
        ...(ended ? {} : { connection: 'close' }),
      });
      response.end(request.method === 'HEAD' ? undefined : body);
      this.observe(
        request.method ?? 'GET',
        'unmatched',
        problem.status,
        url,
        requestId,
        performance.now() - started,
      );
    });
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

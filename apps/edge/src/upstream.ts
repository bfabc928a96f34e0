import {
  Agent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { DomainError } from '@app/core';
import { PROBLEM_CONTENT_TYPE, problemFor, toProblem } from '@app/http';
import { counter, histogram, type Logger } from '@app/observability';

/** Headers of one connection (RFC 9110 7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without hop-by-hop ones, those named by `Connection` included. */
export function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) kept[name] = value;
  }
  return kept;
}

/** What the edge knows of a request it forwards. */
export interface ForwardContext {
  /** The TCP peer of the edge (a client, or a proxy in front of the edge). */
  readonly peer: string | undefined;
  readonly requestId: string;
}

/**
 * The headers of a forwarded request: the client's end-to-end headers, the peer appended to
 * X-Forwarded-For (the api believes it from TRUSTED_PROXIES only), X-Forwarded-Proto and -Host as
 * a proxy in front of the edge set them, else what the edge saw, and the request id.
 */
export function forwardHeaders(
  headers: IncomingHttpHeaders,
  context: ForwardContext,
): OutgoingHttpHeaders {
  const out = endToEnd(headers);
  const previous = headers['x-forwarded-for'];
  const chain = (Array.isArray(previous) ? previous.join(', ') : (previous ?? '')).trim();
  if (context.peer !== undefined) {
    out['x-forwarded-for'] = chain === '' ? context.peer : `${chain}, ${context.peer}`;
  }
  out['x-forwarded-proto'] = headers['x-forwarded-proto'] ?? 'http';
  const host = headers['x-forwarded-host'] ?? headers.host;
  if (host !== undefined) out['x-forwarded-host'] = host;
  out['x-request-id'] = context.requestId;
  return out;
}

/** Why the edge forwards a request: not its to answer, a code its caches lack, Redis away. */
export type ForwardReason = 'route' | 'miss' | 'redis_down';
/** How a forward ended: the upstream's answer relayed, or the problem the edge answered itself. */
type ForwardOutcome = 'relayed' | 'unavailable' | 'timeout' | 'aborted';

export interface UpstreamOptions {
  /** Origin of the api, such as http://127.0.0.1:3000. */
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxSockets: number;
  readonly logger: Logger;
}

class UpstreamFailure extends Error {
  constructor(
    readonly outcome: 'unavailable' | 'timeout',
    cause: unknown,
  ) {
    super(outcome, { cause });
  }
}

const isReset = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === 'ECONNRESET';

/**
 * The api behind the edge, over a pool of keep-alive connections (node:http Agent). A request
 * and its answer are streamed through unchanged but for hop-by-hop headers; the edge answers
 * 503 UPSTREAM_UNAVAILABLE (no connection within the connect timeout, refused) or 504
 * UPSTREAM_TIMEOUT (no response headers within the timeout) itself, never waits longer.
 */
export class Upstream {
  private readonly agent: Agent;
  private readonly origin: URL;
  private readonly forwards = counter({
    name: 'snip_edge_forwards_total',
    help: 'Requests the edge sent on to the api, by reason and outcome',
    labelNames: ['reason', 'outcome'] as const,
  });
  private readonly duration = histogram({
    name: 'snip_edge_upstream_duration_seconds',
    help: 'Time from forwarding a request to the api until its response headers (or failure)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  constructor(private readonly options: UpstreamOptions) {
    this.origin = new URL(options.url);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: Math.min(options.maxSockets, 256),
      scheduling: 'lifo',
    });
  }

  /** Sends `request` to the api and relays its answer on `response`; resolves once settled. */
  async forward(
    request: IncomingMessage,
    response: ServerResponse,
    context: ForwardContext,
    reason: ForwardReason,
  ): Promise<number> {
    const started = performance.now();
    const headers = forwardHeaders(request.headers, context);
    const bodiless = request.method === 'GET' || request.method === 'HEAD';
    let outcome: ForwardOutcome;
    let status: number;
    try {
      let upstream: IncomingMessage;
      try {
        upstream = await this.send(request, headers, bodiless);
      } catch (error) {
        // A pooled connection the api closed while idle: a request without a body is sent again.
        if (!(bodiless && isReset(error))) throw error;
        upstream = await this.send(request, headers, bodiless);
      }
      outcome = 'relayed';
      status = upstream.statusCode ?? 502;
      this.duration.observe({ outcome }, (performance.now() - started) / 1000);
      await relay(upstream, response);
    } catch (error) {
      const failure =
        error instanceof UpstreamFailure ? error : new UpstreamFailure('unavailable', error);
      outcome = response.destroyed ? 'aborted' : failure.outcome;
      this.duration.observe({ outcome }, (performance.now() - started) / 1000);
      status = this.answerFailure(request, response, context.requestId, failure);
    }
    this.forwards.inc({ reason, outcome });
    return status;
  }

  /** Whether the api answers its liveness check within the connect timeout. */
  async reachable(): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = httpRequest(new URL('/health/live', this.origin), {
        agent: this.agent,
        timeout: this.options.connectTimeoutMs,
      });
      probe.once('response', (answer) => {
        answer.resume();
        resolve((answer.statusCode ?? 500) < 500);
      });
      probe.once('timeout', () => probe.destroy());
      probe.once('error', () => resolve(false));
      probe.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private send(
    request: IncomingMessage,
    headers: OutgoingHttpHeaders,
    bodiless: boolean,
  ): Promise<IncomingMessage> {
    const { connectTimeoutMs, timeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const outgoing: ClientRequest = httpRequest({
        protocol: this.origin.protocol,
        hostname: this.origin.hostname,
        port: this.origin.port,
        method: request.method,
        path: request.url,
        headers,
        agent: this.agent,
      });
      let timer = setTimeout(
        () => outgoing.destroy(new UpstreamFailure('unavailable', 'connect timeout')),
        connectTimeoutMs,
      );
      const waitForAnswer = (): void => {
        clearTimeout(timer);
        timer = setTimeout(
          () => outgoing.destroy(new UpstreamFailure('timeout', 'response timeout')),
          timeoutMs,
        );
      };
      outgoing.once('socket', (socket) => {
        if (socket.connecting) socket.once('connect', waitForAnswer);
        else waitForAnswer();
      });
      outgoing.once('response', (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      outgoing.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      outgoing.once('close', () => clearTimeout(timer));
      // The client gone before the answer: so is the upstream request.
      request.once('aborted', () => outgoing.destroy());
      if (bodiless) outgoing.end();
      else request.pipe(outgoing);
    });
  }

  private answerFailure(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    failure: UpstreamFailure,
  ): number {
    if (response.headersSent) {
      // The answer had begun: all the client can learn is that it is cut short.
      response.destroy();
      return 502;
    }
    const error =
      failure.outcome === 'timeout'
        ? new DomainError(
            'UPSTREAM_TIMEOUT',
            `The api did not answer within ${this.options.timeoutMs} ms.`,
          )
        : new DomainError(
            'UPSTREAM_UNAVAILABLE',
            'The api cannot be reached; retry shortly.',
            {},
            {
              'retry-after': '1',
            },
          );
    this.options.logger.warn(
      { err: failure.cause, reqId: requestId, outcome: failure.outcome },
      'upstream request failed',
    );
    const body = JSON.stringify(problemFor(request.url ?? '/', requestId, toProblem(error)));
    if (!response.destroyed) {
      response.writeHead(error.status, {
        ...error.headers,
        'content-type': PROBLEM_CONTENT_TYPE,
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(body),
        'x-request-id': requestId,
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    }
    return error.status;
  }
}

/** Streams the api's answer to the client: its status, end-to-end headers and body. */
function relay(upstream: IncomingMessage, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (response.destroyed) {
      upstream.destroy();
      resolve();
      return;
    }
    response.writeHead(upstream.statusCode ?? 502, endToEnd(upstream.headers));
    upstream.pipe(response);
    const done = (): void => resolve();
    response.once('close', () => {
      if (!upstream.complete) upstream.destroy();
      done();
    });
    upstream.once('error', () => {
      response.destroy();
      done();
    });
  });
}

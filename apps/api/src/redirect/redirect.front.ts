import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { thenMaybe, type MaybePromise } from '@app/core';
import { clickVisitor } from '@app/clicks';
import { AppConfig } from '@app/config';
import { DatabaseReachability } from '@app/database';
import { requestIdOf, type HttpFront } from '@app/http';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import {
  errorResponse,
  failureResponse,
  redirectResponse,
  type RedirectResponse,
} from './redirect.response';
import { RedirectService, type RedirectOutcome } from './redirect.service';

/** The longest code (CODE_PATTERN): a longer segment is left to Fastify. */
const MAX_CODE_LENGTH = 64;
const ROUTE = '/:code';

/** Characters of a code (CODE_PATTERN), by char code. */
const CODE_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') {
  CODE_CHARS[c.charCodeAt(0)] = 1;
}

/**
 * Where the code of `/<code>` or `/<code>?<query>` ends in `url`; -1 for any other shape (more
 * segments, percent-encoding, a code too long), which Fastify then routes as usual.
 */
export function codeEnd(url: string): number {
  if (url.charCodeAt(0) !== 47 /* / */) return -1;
  // Scans at most one character past the longest code, enough to tell that a code is too long.
  const limit = Math.min(url.length, MAX_CODE_LENGTH + 2);
  let end = 1;
  while (end < limit) {
    const c = url.charCodeAt(end);
    if (c >= 128 || CODE_CHARS[c] !== 1) break;
    end++;
  }
  if (end === 1 || end - 1 > MAX_CODE_LENGTH) return -1;
  return end === url.length || url.charCodeAt(end) === 63 /* ? */ ? end : -1;
}

/**
 * `GET`/`HEAD /<code>` answered ahead of Fastify (see HttpFront): straight on Node's response,
 * with the same request id, metrics, access log and answers as the Fastify route, which still
 * serves every request this one leaves (odd shapes, the per-IP redirect limit, shutdown). It saves
 * Fastify's routing and reply and Nest's request hooks (what they cost: see decision 17).
 */
@Injectable()
export class RedirectFront implements BeforeApplicationShutdown {
  private http?: HttpFront;
  private closing = false;
  private readonly maxUrlLength: number;

  constructor(
    private readonly redirects: RedirectService,
    app: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly reachability: DatabaseReachability,
  ) {
    this.maxUrlLength = app.maxUrlLength;
  }

  /** Starts answering redirects in front of `http`'s Fastify. */
  attach(http: HttpFront): void {
    this.http = http;
    http.use(this.handle);
  }

  /** From here on Fastify answers, with 503 and `Connection: close` once it is closing. */
  beforeApplicationShutdown(): void {
    this.closing = true;
  }

  private readonly handle = (request: IncomingMessage, response: ServerResponse): boolean => {
    const { method, url } = request;
    const http = this.http;
    if ((method !== 'GET' && method !== 'HEAD') || url === undefined || !http || this.closing) {
      return false;
    }
    const end = codeEnd(url);
    if (end < 0 || url.length > this.maxUrlLength) return false;
    if (http.isFixedPath(end === url.length ? url : url.slice(0, end))) return false;

    const started = performance.now();
    const requestId = requestIdOf(request);
    let outcome: MaybePromise<RedirectOutcome>;
    try {
      outcome = this.redirects.handle(
        url.slice(1, end),
        end === url.length ? '' : url.slice(end + 1),
        new Date(),
        clickVisitor(method, http.clientIp(request), request.headers),
      );
    } catch (error) {
      this.fail(request, response, requestId, started, error);
      return true;
    }
    // A link in memory is answered synchronously: no promise, no microtask.
    void thenMaybe(
      outcome,
      (resolved) => this.answer(request, response, requestId, started, resolved),
      (error) => this.fail(request, response, requestId, started, error),
    );
    return true;
  };

  private answer(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    started: number,
    outcome: RedirectOutcome,
  ): void {
    const url = request.url ?? '/';
    try {
      this.write(
        request,
        response,
        requestId,
        started,
        redirectResponse(outcome, url, request.headers.accept, requestId),
      );
    } catch (error) {
      this.fail(request, response, requestId, started, error);
    }
  }

  private fail(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    started: number,
    error: unknown,
  ): void {
    const url = request.url ?? '/';
    // An unreachable database is an outage (503, reported once), not a bug to log per request.
    const outage = this.reachability.translate(error);
    const answer = outage
      ? errorResponse(outage, url, request.headers.accept, requestId)
      : failureResponse(error, url, requestId);
    if (!outage && answer.status >= 500) {
      this.logger.error({ err: error, reqId: requestId, route: ROUTE }, 'request failed');
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    this.write(request, response, requestId, started, answer);
  }

  private write(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    started: number,
    answer: RedirectResponse,
  ): void {
    response.writeHead(answer.status, {
      'x-request-id': requestId,
      ...answer.headers,
      'content-length': answer.body === undefined ? 0 : Buffer.byteLength(answer.body),
    });
    response.end(answer.body);
    this.http?.observe(
      request.method ?? 'GET',
      ROUTE,
      answer.status,
      request.url ?? '/',
      requestId,
      performance.now() - started,
    );
  }
}

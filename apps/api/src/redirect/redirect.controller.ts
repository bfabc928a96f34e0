import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ThrottleConfig } from '@app/config';
import {
  ROOT_LOGGER,
  sendProblem,
  toProblem,
  type DomainError,
  type Logger,
} from '@app/observability';
import { applyRateLimit, hit } from '@app/throttling';
import type { MaybePromise } from '@app/caching';
import { RedirectService, type RedirectOutcome } from './redirect.service';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function errorPage(error: DomainError): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${error.status} ${escapeHtml(error.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}</style></head><body><h1>${escapeHtml(error.title)}</h1><p>${escapeHtml(error.detail)}</p></body></html>`;
}

const MINUTE_MS = 60_000;

/**
 * `GET /:code` and `HEAD /:code` (Fastify answers HEAD from the GET route), registered as a plain
 * Fastify route by RedirectModule: no Nest guards, pipes or interceptors, and no body parsing, on
 * the hottest path. Errors are answered here, as the global filter does for Nest routes.
 */
@Injectable()
export class RedirectController {
  constructor(
    private readonly redirects: RedirectService,
    private readonly throttle: ThrottleConfig,
    @Inject(ThrottlerStorage) private readonly limits: ThrottlerStorage,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  readonly route = (
    request: FastifyRequest<{ Params: { code: string } }>,
    reply: FastifyReply,
  ): void => {
    try {
      // Off by default: then the redirect does no rate-limit work at all.
      const outcome =
        this.throttle.redirectPerMinute > 0
          ? this.limited(request, reply)
          : this.resolve(request.params.code, request);
      // An L1 hit is answered synchronously: no promise, no microtask between lookup and reply.
      if (outcome instanceof Promise) {
        outcome.then(
          (resolved) => this.send(request, reply, resolved),
          (error: unknown) => this.fail(request, reply, error),
        );
      } else {
        this.send(request, reply, outcome);
      }
    } catch (error) {
      this.fail(request, reply, error);
    }
  };

  private async limited(
    request: FastifyRequest<{ Params: { code: string } }>,
    reply: FastifyReply,
  ): Promise<RedirectOutcome> {
    const limit = this.throttle.redirectPerMinute;
    const record = await hit(this.limits, 'redirect', `ip:${request.ip}`, limit, MINUTE_MS);
    const limited = applyRateLimit(reply, limit, record);
    if (limited) throw limited;
    return this.resolve(request.params.code, request);
  }

  private resolve(code: string, request: FastifyRequest): MaybePromise<RedirectOutcome> {
    const { url, headers } = request;
    const queryAt = url.indexOf('?');
    return this.redirects.handle(code, queryAt < 0 ? '' : url.slice(queryAt + 1), new Date(), {
      method: request.method,
      ip: request.ip,
      userAgent: headers['user-agent'],
      referrer: headers.referer,
      acceptLanguage: headers['accept-language'],
    });
  }

  /** Replies are sent, not awaited: awaiting a Fastify reply waits for the socket to drain. */
  private send(request: FastifyRequest, reply: FastifyReply, outcome: RedirectOutcome): void {
    if (outcome.kind === 'redirect') {
      void reply
        .code(outcome.status)
        .header('location', outcome.location)
        .header('cache-control', outcome.cacheControl)
        .send();
      return;
    }
    const { error } = outcome;
    if (request.headers.accept?.includes('text/html')) {
      void reply
        .code(error.status)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(errorPage(error));
      return;
    }
    void sendProblem(request, reply.header('cache-control', 'no-store'), toProblem(error));
  }

  private fail(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      this.logger.error({ err: error, reqId: request.id, route: '/:code' }, 'request failed');
    }
    if (!reply.sent) void sendProblem(request, reply, problem);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ThrottleConfig } from '@app/config';
import { DatabaseReachability } from '@app/database';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { sendProblem, toProblem } from '@app/http';
import { applyRateLimit, hit, ipTracker, isLoopback } from '@app/throttling';
import { thenMaybe, type MaybePromise } from '@app/core';
import { clickVisitor } from '@app/clicks';
import { errorResponse, redirectResponse } from './redirect.response';
import { RedirectService, type RedirectOutcome } from './redirect.service';

const MINUTE_MS = 60_000;

/**
 * `GET /:code` and `HEAD /:code` (Fastify answers HEAD from the GET route), registered as a plain
 * Fastify route by RedirectModule: no Nest guards, pipes or interceptors, and no body parsing.
 * Most redirects never reach it (RedirectFront answers them ahead of Fastify); it serves what the
 * front leaves: the per-IP redirect limit, percent-encoded codes, and requests during shutdown.
 * Errors are answered here, as the global filter does for Nest routes.
 */
@Injectable()
export class RedirectController {
  constructor(
    private readonly redirects: RedirectService,
    private readonly throttle: ThrottleConfig,
    @Inject(ThrottlerStorage) private readonly limits: ThrottlerStorage,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly reachability: DatabaseReachability,
  ) {}

  readonly route = (
    request: FastifyRequest<{ Params: { code: string } }>,
    reply: FastifyReply,
  ): void => {
    try {
      // Off by default: then the redirect does no rate-limit work at all.
      const outcome =
        this.throttle.redirectPerMinute > 0 &&
        !(this.throttle.exemptLoopback && isLoopback(request.ip))
          ? this.limited(request, reply)
          : this.resolve(request.params.code, request);
      // An L1 hit is answered synchronously: no promise, no microtask between lookup and reply.
      void thenMaybe(
        outcome,
        (resolved) => this.send(request, reply, resolved),
        (error) => this.fail(request, reply, error),
      );
    } catch (error) {
      this.fail(request, reply, error);
    }
  };

  private async limited(
    request: FastifyRequest<{ Params: { code: string } }>,
    reply: FastifyReply,
  ): Promise<RedirectOutcome> {
    const limit = this.throttle.redirectPerMinute;
    const record = await hit(this.limits, 'redirect', ipTracker(request.ip), limit, MINUTE_MS);
    const limited = applyRateLimit(reply, limit, record);
    if (limited) throw limited;
    return this.resolve(request.params.code, request);
  }

  private resolve(code: string, request: FastifyRequest): MaybePromise<RedirectOutcome> {
    const { url } = request;
    const queryAt = url.indexOf('?');
    return this.redirects.handle(
      code,
      queryAt < 0 ? '' : url.slice(queryAt + 1),
      new Date(),
      clickVisitor(request.method, request.ip, request.headers),
    );
  }

  /** Replies are sent, not awaited: awaiting a Fastify reply waits for the socket to drain. */
  private send(request: FastifyRequest, reply: FastifyReply, outcome: RedirectOutcome): void {
    const answer = redirectResponse(outcome, request.url, request.headers.accept, request.id);
    void reply.code(answer.status).headers(answer.headers).send(answer.body);
  }

  private fail(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
    // An unreachable database is an outage (503, reported once), not a bug to log per request.
    const outage = this.reachability.translate(error);
    if (outage) {
      if (reply.sent) return;
      const answer = errorResponse(outage, request.url, request.headers.accept, request.id);
      void reply.code(answer.status).headers(answer.headers).send(answer.body);
      return;
    }
    const problem = toProblem(error);
    if (problem.status >= 500) {
      this.logger.error({ err: error, reqId: request.id, route: '/:code' }, 'request failed');
    }
    if (!reply.sent) void sendProblem(request, reply, problem);
  }
}

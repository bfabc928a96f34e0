import type { IncomingHttpHeaders } from 'node:http';
import { thenMaybe, type DomainError, type ErrorTranslator, type MaybePromise } from '@app/core';
import { clickVisitor, type ClickVisitor } from '@app/clicks';
import { LinkErrors, type RedirectTarget, type Reservation, type Resolution } from '@app/links';
import { counter, hotCounter, type HotCounter, type Logger } from '@app/observability';
import { ipTracker, isLoopback, rateLimitOutcome, type RateLimitRecord } from '@app/throttling';
import { errorResponse, failureResponse, redirectResponse } from './redirect.response';
import type { RedirectAnswer, RedirectOutcome } from './redirect.response';

/** The route template redirects are measured and logged under. */
export const REDIRECT_ROUTE = '/:code';

/** One redirect request, as any server (the front, the Fastify route, an edge) sees it. */
export interface RedirectRequest {
  readonly method: string;
  /** The request target: `/<code>` or `/<code>?<query>`. */
  readonly url: string;
  /** The client address, after trusted proxies (see TRUSTED_PROXIES); undefined if unknown. */
  readonly ip: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly requestId: string;
  /** The code, when a router has taken it out of `url` already (decoded); else read from `url`. */
  readonly code?: string;
}

/** The per-IP redirect limit (THROTTLE_REDIRECT_PER_MINUTE), over a shared counter store. */
export interface RedirectLimit {
  readonly perMinute: number;
  /** Whether loopback clients go unlimited (RATE_LIMIT_EXEMPT_LOOPBACK). */
  readonly exemptLoopback: boolean;
  /** Counts one hit of `tracker` against `limit` per `windowMs`. */
  hit(tracker: string, limit: number, windowMs: number): Promise<RateLimitRecord>;
  /**
   * Look the code up first and count only a request this process answers itself. For the edge,
   * whose look-ups are cache reads: a code it cannot resolve goes on to the api, which counts it,
   * so every redirect is counted once. The api counts first, so that a client over its limit
   * never costs a database read.
   */
  readonly afterLookup?: boolean;
}

/** What the redirect needs from the rest of snip; no framework in it. */
export interface RedirectDependencies {
  /** A code's link and state now; a value, not a promise, when the link is in memory. */
  resolve(code: string, now: Date): MaybePromise<Resolution>;
  /**
   * Takes one of the `maxClicks` visits of a capped link, atomically for every process that
   * redirects (the counter is shared: Redis, or this process alone without it). Never called for
   * a link without a cap.
   */
  reserve(linkId: string, maxClicks: number): Promise<Reservation>;
  /** Queues the click of a redirect; never waits, never throws. */
  record(link: RedirectTarget, visitor: ClickVisitor, now: Date): void;
  /** Turns a failure some library raised (an unreachable database) into the answer to give. */
  readonly translate: ErrorTranslator;
  readonly logger: Logger;
  /** Whether the request's query is merged into the target's (REDIRECT_FORWARD_QUERY). */
  readonly forwardQuery: boolean;
  /** Cache lifetime of 301 and 308 answers, in seconds. */
  readonly permanentRedirectMaxAge: number;
  /** Absent or 0 per minute: no limit, and no rate-limit work at all. */
  readonly limit?: RedirectLimit;
}

/**
 * Thrown by `resolve` or `reserve` when this process cannot tell (an edge whose caches do not hold
 * the code, or a visit counter it cannot seed without the database): `serve` then answers
 * UNRESOLVED, and its caller sends the request on to a process that can (the edge to the api).
 */
export class Unresolved extends Error {
  constructor(readonly code: string) {
    super(`${code} is not resolved here`);
    this.name = 'Unresolved';
  }
}

/** What `serve` answers when a dependency threw Unresolved: nothing counted, no click recorded. */
export const UNRESOLVED: RedirectAnswer = Object.freeze({ status: 0, headers: {} });

const MINUTE_MS = 60_000;
/** The longest code (CODE_PATTERN): a longer segment is left to Fastify. */
const MAX_CODE_LENGTH = 64;

/** Characters of a code (CODE_PATTERN), by char code. */
const CODE_CHARS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') {
  CODE_CHARS[c.charCodeAt(0)] = 1;
}

/**
 * Where the code of `/<code>` or `/<code>?<query>` ends in `url`; -1 for any other shape (more
 * segments, percent-encoding, a code too long), which the front leaves to Fastify's router.
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

const outcomes = () => {
  const total = counter({
    name: 'snip_redirects_total',
    help: 'Redirect requests by outcome',
    labelNames: ['outcome'] as const,
  });
  // One hot counter per outcome: no label hashing per redirect.
  return {
    redirected: hotCounter(total, { outcome: 'redirected' }),
    not_found: hotCounter(total, { outcome: 'not_found' }),
    disabled: hotCounter(total, { outcome: 'disabled' }),
    expired: hotCounter(total, { outcome: 'expired' }),
    exhausted: hotCounter(total, { outcome: 'exhausted' }),
    limit_unavailable: hotCounter(total, { outcome: 'limit_unavailable' }),
  } satisfies Record<string, HotCounter>;
};

/** The code a redirect request names, its raw query, and the time it is served at. */
interface Target {
  readonly code: string;
  readonly rawQuery: string;
  readonly now: Date;
}

function parseTarget(request: RedirectRequest): Target {
  const { url } = request;
  const queryAt = url.indexOf('?');
  return {
    code: request.code ?? url.slice(1, queryAt < 0 ? url.length : queryAt),
    rawQuery: queryAt < 0 ? '' : url.slice(queryAt + 1),
    now: new Date(),
  };
}

/**
 * The redirect, whatever server takes the request: limit, resolve, decide, answer. `serve` never
 * rejects: every failure is an answer (problem+json, or an HTML page for browsers). The servers
 * only write what it returns (see redirect.front.ts and redirect.route.ts).
 */
export class RedirectHandler {
  private readonly outcomes = outcomes();
  private readonly temporaryCacheControl = 'private, max-age=0';
  private readonly permanentCacheControl: string;
  private readonly limit: RedirectLimit | undefined;

  constructor(private readonly deps: RedirectDependencies) {
    this.permanentCacheControl = `private, max-age=${deps.permanentRedirectMaxAge}`;
    this.limit = deps.limit && deps.limit.perMinute > 0 ? deps.limit : undefined;
  }

  /**
   * The answer to `request`; a value, not a promise, for an unlimited redirect of a link in memory.
   * UNRESOLVED (compare by identity) when `resolve` or `reserve` threw Unresolved.
   */
  serve(request: RedirectRequest): MaybePromise<RedirectAnswer> {
    try {
      const limit = this.limit;
      const answer =
        limit && !(limit.exemptLoopback && isLoopback(request.ip))
          ? this.limited(request, limit)
          : thenMaybe(this.resolve(request), (outcome) =>
              redirectResponse(outcome, request.url, request.headers.accept, request.requestId),
            );
      return answer instanceof Promise
        ? answer.catch((error) => this.fail(request, error))
        : answer;
    } catch (error) {
      return this.fail(request, error);
    }
  }

  /**
   * What the link's state means now: a redirect (and its click, recorded here and only here) when
   * it is active and, if capped, has a visit left; else the error to answer. `visitor` describes
   * the request for its click event. A value for a link without a cap: only a capped link waits
   * (on its visit counter).
   */
  decide(
    resolution: Resolution,
    code: string,
    rawQuery: string,
    now: Date,
    visitor: ClickVisitor,
  ): MaybePromise<RedirectOutcome> {
    switch (resolution.state) {
      case 'missing':
        this.outcomes.not_found.inc();
        return { kind: 'error', error: LinkErrors.linkNotFound(code) };
      case 'disabled':
      case 'expired':
        this.outcomes[resolution.state].inc();
        return { kind: 'error', error: LinkErrors.linkGone(code, resolution.state) };
      case 'active': {
        const { link } = resolution;
        return link.maxClicks === null
          ? this.redirect(link, rawQuery, now, visitor)
          : this.capped(link, link.maxClicks, rawQuery, now, visitor);
      }
    }
  }

  private async capped(
    link: RedirectTarget,
    maxClicks: number,
    rawQuery: string,
    now: Date,
    visitor: ClickVisitor,
  ): Promise<RedirectOutcome> {
    const reservation = await this.deps.reserve(link.id, maxClicks);
    switch (reservation) {
      case 'reserved':
        return this.redirect(link, rawQuery, now, visitor);
      case 'exhausted':
        this.outcomes.exhausted.inc();
        return { kind: 'error', error: LinkErrors.linkExhausted(link.code, maxClicks) };
      case 'unavailable':
        this.outcomes.limit_unavailable.inc();
        return { kind: 'error', error: LinkErrors.visitLimitUnavailable(link.code) };
    }
  }

  private redirect(
    link: RedirectTarget,
    rawQuery: string,
    now: Date,
    visitor: ClickVisitor,
  ): RedirectOutcome {
    this.outcomes.redirected.inc();
    // Queued, never awaited: the redirect answers whatever the click transport is doing.
    this.deps.record(link, visitor, now);
    const permanent = link.redirectType === 301 || link.redirectType === 308;
    return {
      kind: 'redirect',
      status: link.redirectType,
      location:
        this.deps.forwardQuery && rawQuery !== '' ? mergeQuery(link.url, rawQuery) : link.url,
      cacheControl: permanent ? this.permanentCacheControl : this.temporaryCacheControl,
    };
  }

  private resolve(request: RedirectRequest): MaybePromise<RedirectOutcome> {
    const target = parseTarget(request);
    const outcome = thenMaybe(this.deps.resolve(target.code, target.now), (resolution) =>
      this.decideFor(request, target, resolution),
    );
    // A promise never resolves to a promise: one that `then` returned settles with its value.
    return outcome as MaybePromise<RedirectOutcome>;
  }

  private decideFor(
    request: RedirectRequest,
    target: Target,
    resolution: Resolution,
  ): MaybePromise<RedirectOutcome> {
    return this.decide(
      resolution,
      target.code,
      target.rawQuery,
      target.now,
      clickVisitor(request.method, request.ip, request.headers),
    );
  }

  private async limited(request: RedirectRequest, limit: RedirectLimit): Promise<RedirectAnswer> {
    // Looked up first (afterLookup): an Unresolved code leaves here before anything is counted.
    let target: Target | undefined;
    let resolution: Resolution | undefined;
    if (limit.afterLookup) {
      target = parseTarget(request);
      resolution = await this.deps.resolve(target.code, target.now);
    }
    const record = await limit.hit(ipTracker(request.ip), limit.perMinute, MINUTE_MS);
    const { headers, error } = rateLimitOutcome(limit.perMinute, record);
    // Problem+json for every client, browsers included: a limit is for clients, not pages.
    const answer = error
      ? failureResponse(error, request.url, request.requestId)
      : redirectResponse(
          await (target && resolution
            ? this.decideFor(request, target, resolution)
            : this.resolve(request)),
          request.url,
          request.headers.accept,
          request.requestId,
        );
    return { ...answer, headers: { ...headers, ...answer.headers } };
  }

  private fail(request: RedirectRequest, error: unknown): RedirectAnswer {
    if (error instanceof Unresolved) return UNRESOLVED;
    const { url, requestId } = request;
    // An unreachable database is an outage (503, reported once), not a bug to log per request.
    const outage: DomainError | undefined = this.deps.translate(error);
    if (outage) return errorResponse(outage, url, request.headers.accept, requestId);
    const answer = failureResponse(error, url, requestId);
    if (answer.status >= 500) {
      this.deps.logger.error(
        { err: error, reqId: requestId, route: REDIRECT_ROUTE },
        'request failed',
      );
    }
    return answer;
  }
}

/**
 * Adds the request's query parameters to the target's. A parameter the request repeats replaces
 * the target's value; otherwise the target's own query is left byte for byte as stored.
 */
export function mergeQuery(target: string, rawQuery: string): string {
  const url = new URL(target);
  const incoming = new URLSearchParams(rawQuery);
  const keys = new Set(incoming.keys());
  if ([...keys].some((key) => url.searchParams.has(key))) {
    for (const key of keys) url.searchParams.delete(key);
    for (const [key, value] of incoming) url.searchParams.append(key, value);
  } else {
    url.search = url.search === '' ? rawQuery : `${url.search.slice(1)}&${rawQuery}`;
  }
  return url.href;
}

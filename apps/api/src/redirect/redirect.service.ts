import { Injectable } from '@nestjs/common';
import type { ClickVisitor } from '@app/clicks';
import { LinksConfig } from '@app/config';
import { thenMaybe, type MaybePromise } from '@app/core';
import { LinkErrors, LinksService, type Resolution } from '@app/links';
import { counter, hotCounter, type HotCounter } from '@app/observability';
import type { DomainError } from '@app/core';
import { ClickRecorder } from '../clicks/click-recorder';

export type RedirectOutcome =
  | {
      readonly kind: 'redirect';
      readonly status: number;
      readonly location: string;
      readonly cacheControl: string;
    }
  | { readonly kind: 'error'; readonly error: DomainError };

const redirects = () =>
  counter({
    name: 'snip_redirects_total',
    help: 'Redirect requests by outcome',
    labelNames: ['outcome'] as const,
  });

/**
 * The redirect, as one straight path: resolve the code, decide what it means now, and describe the
 * response. The controller only writes what this returns.
 */
@Injectable()
export class RedirectService {
  /** One hot counter per outcome: no label hashing per redirect. */
  private readonly outcomes: Record<
    'redirected' | 'not_found' | 'disabled' | 'expired',
    HotCounter
  > = (() => {
    const total = redirects();
    return {
      redirected: hotCounter(total, { outcome: 'redirected' }),
      not_found: hotCounter(total, { outcome: 'not_found' }),
      disabled: hotCounter(total, { outcome: 'disabled' }),
      expired: hotCounter(total, { outcome: 'expired' }),
    };
  })();
  private readonly temporaryCacheControl = 'private, max-age=0';
  private readonly permanentCacheControl: string;

  constructor(
    private readonly links: LinksService,
    private readonly config: LinksConfig,
    private readonly clicks: ClickRecorder,
  ) {
    this.permanentCacheControl = `private, max-age=${config.permanentRedirectMaxAge}`;
  }

  /**
   * `visitor` describes the request, for its click event; without one no click is recorded. A
   * value, not a promise, when the link cache answers from memory.
   */
  handle(
    code: string,
    rawQuery: string,
    now = new Date(),
    visitor?: ClickVisitor,
  ): MaybePromise<RedirectOutcome> {
    return thenMaybe(this.links.resolve(code, now), (resolution) =>
      this.outcome(resolution, code, rawQuery, now, visitor),
    );
  }

  private outcome(
    resolution: Resolution,
    code: string,
    rawQuery: string,
    now: Date,
    visitor: ClickVisitor | undefined,
  ): RedirectOutcome {
    switch (resolution.state) {
      case 'missing':
        this.outcomes.not_found.inc();
        return { kind: 'error', error: LinkErrors.linkNotFound(code) };
      case 'disabled':
      case 'expired':
        this.outcomes[resolution.state].inc();
        return { kind: 'error', error: LinkErrors.linkGone(code, resolution.state) };
      case 'active': {
        this.outcomes.redirected.inc();
        const { link } = resolution;
        // Queued, never awaited: the redirect answers whatever the click transport is doing.
        if (visitor) this.clicks.record(link, visitor, now);
        const permanent = link.redirectType === 301 || link.redirectType === 308;
        return {
          kind: 'redirect',
          status: link.redirectType,
          location:
            this.config.forwardQuery && rawQuery !== '' ? mergeQuery(link.url, rawQuery) : link.url,
          cacheControl: permanent ? this.permanentCacheControl : this.temporaryCacheControl,
        };
      }
    }
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

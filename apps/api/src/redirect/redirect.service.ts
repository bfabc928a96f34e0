import { Injectable } from '@nestjs/common';
import type { ClickVisitor } from '@app/clicks';
import { LinksConfig } from '@app/config';
import { LinkErrors, LinksService } from '@app/links';
import { counter, type DomainError } from '@app/observability';
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
  private readonly outcomes = redirects();

  constructor(
    private readonly links: LinksService,
    private readonly config: LinksConfig,
    private readonly clicks: ClickRecorder,
  ) {}

  /** `visitor` describes the request, for its click event; without one no click is recorded. */
  async handle(
    code: string,
    rawQuery: string,
    now = new Date(),
    visitor?: ClickVisitor,
  ): Promise<RedirectOutcome> {
    const resolution = await this.links.resolve(code, now);
    switch (resolution.state) {
      case 'missing':
        this.outcomes.inc({ outcome: 'not_found' });
        return { kind: 'error', error: LinkErrors.linkNotFound(code) };
      case 'disabled':
      case 'expired':
        this.outcomes.inc({ outcome: resolution.state });
        return { kind: 'error', error: LinkErrors.linkGone(code, resolution.state) };
      case 'active': {
        this.outcomes.inc({ outcome: 'redirected' });
        const { link } = resolution;
        // Queued, never awaited: the redirect answers whatever the click transport is doing.
        if (visitor) this.clicks.record(link, visitor, now);
        const permanent = link.redirectType === 301 || link.redirectType === 308;
        const maxAge = permanent ? this.config.permanentRedirectMaxAge : 0;
        return {
          kind: 'redirect',
          status: link.redirectType,
          location:
            this.config.forwardQuery && rawQuery !== '' ? mergeQuery(link.url, rawQuery) : link.url,
          cacheControl: `private, max-age=${maxAge}`,
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

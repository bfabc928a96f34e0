import { DomainError, type MaybePromise } from '@app/core';
import type { ClickVisitor } from '@app/clicks';
import type { RedirectTarget, Reservation, Resolution } from '@app/links';
import type { Logger } from '@app/observability';
import type { RateLimitRecord } from '@app/throttling';
import {
  codeEnd,
  mergeQuery,
  RedirectHandler,
  type RedirectDependencies,
  type RedirectRequest,
  UNRESOLVED,
  Unresolved,
} from './redirect.handler';
import type { RedirectAnswer, RedirectOutcome } from './redirect.response';

const NOW = new Date('2026-12-02T10:00:00Z');

const target = (overrides: Partial<RedirectTarget> = {}): RedirectTarget =>
  ({
    id: '42',
    code: 'abc',
    url: 'https://example.com/landing?x=1',
    redirectType: 302,
    maxClicks: null,
    ...overrides,
  }) as RedirectTarget;

/** The outcome of `decide`, which must be a value (not a promise) for a link without a cap. */
function valueOf(outcome: MaybePromise<RedirectOutcome>): RedirectOutcome {
  if (outcome instanceof Promise) throw new Error('decide returned a promise');
  return outcome;
}

interface Recorded {
  readonly link: RedirectTarget;
  readonly visitor: ClickVisitor;
  readonly now: Date;
}

/** A handler over fixed resolutions, recording clicks and error logs in arrays. */
function handlerWith(
  resolve: (code: string) => Resolution | Promise<Resolution>,
  overrides: Partial<RedirectDependencies> = {},
) {
  const clicks: Recorded[] = [];
  const errors: unknown[] = [];
  const logger = { error: (fields: unknown) => errors.push(fields) } as unknown as Logger;
  const handler = new RedirectHandler({
    resolve: (code) => resolve(code),
    reserve: () => Promise.reject(new Error('reserve called for a link without a cap')),
    record: (link, visitor, now) => clicks.push({ link, visitor, now }),
    translate: () => undefined,
    logger,
    forwardQuery: true,
    permanentRedirectMaxAge: 3600,
    ...overrides,
  });
  return { handler, clicks, errors };
}

const request = (overrides: Partial<RedirectRequest> = {}): RedirectRequest => ({
  method: 'GET',
  url: '/abc',
  ip: '203.0.113.7',
  headers: { 'user-agent': 'jest', referer: 'https://ref.example/' },
  requestId: 'req-1',
  ...overrides,
});

const visitor: ClickVisitor = { method: 'GET', ip: '203.0.113.7' };

describe('RedirectHandler.decide', () => {
  it('answers LINK_NOT_FOUND for a missing code, with no click', () => {
    const { handler, clicks } = handlerWith(() => ({ state: 'missing' }));
    const outcome = valueOf(handler.decide({ state: 'missing' }, 'nope', '', NOW, visitor));
    expect(outcome.kind).toBe('error');
    if (outcome.kind !== 'error') return;
    expect(outcome.error).toBeInstanceOf(DomainError);
    expect([outcome.error.status, outcome.error.code]).toEqual([404, 'LINK_NOT_FOUND']);
    expect(clicks).toHaveLength(0);
  });

  it.each(['disabled', 'expired'] as const)(
    'answers LINK_GONE for a %s link, with the reason and no click',
    (state) => {
      const { handler, clicks } = handlerWith(() => ({ state: 'missing' }));
      const outcome = valueOf(handler.decide({ state, link: target() }, 'abc', '', NOW, visitor));
      expect(outcome.kind).toBe('error');
      if (outcome.kind !== 'error') return;
      expect([outcome.error.status, outcome.error.code]).toEqual([410, 'LINK_GONE']);
      expect(outcome.error.extensions).toEqual({ reason: state });
      expect(clicks).toHaveLength(0);
    },
  );

  it('redirects an active link and records exactly one click, at the time given', () => {
    const { handler, clicks } = handlerWith(() => ({ state: 'missing' }));
    const link = target();
    const outcome = valueOf(handler.decide({ state: 'active', link }, 'abc', '', NOW, visitor));
    expect(outcome).toEqual({
      kind: 'redirect',
      status: 302,
      location: 'https://example.com/landing?x=1',
      cacheControl: 'private, max-age=0',
    });
    expect(clicks).toEqual([{ link, visitor, now: NOW }]);
  });

  it.each([301, 308] as const)(
    'lets browsers cache a %i for PERMANENT_REDIRECT_MAX_AGE',
    (status) => {
      const { handler } = handlerWith(() => ({ state: 'missing' }));
      const outcome = handler.decide(
        { state: 'active', link: target({ redirectType: status }) },
        'abc',
        '',
        NOW,
        visitor,
      );
      expect(outcome).toMatchObject({ status, cacheControl: 'private, max-age=3600' });
    },
  );

  it('merges the request query into the target when forwarding is on, and only then', () => {
    const on = handlerWith(() => ({ state: 'missing' })).handler;
    const off = handlerWith(() => ({ state: 'missing' }), { forwardQuery: false }).handler;
    const active: Resolution = { state: 'active', link: target() };
    expect(on.decide(active, 'abc', 'utm=a', NOW, visitor)).toMatchObject({
      location: 'https://example.com/landing?x=1&utm=a',
    });
    expect(off.decide(active, 'abc', 'utm=a', NOW, visitor)).toMatchObject({
      location: 'https://example.com/landing?x=1',
    });
  });
});

describe('RedirectHandler with maxClicks', () => {
  const capped = target({ maxClicks: 2 });

  /** A handler whose counter answers `reservations` in turn, recording what it was asked. */
  function cappedHandler(...reservations: Reservation[]) {
    const asked: [string, number][] = [];
    const handler = handlerWith(() => ({ state: 'active', link: capped }), {
      reserve: (linkId, maxClicks) => {
        asked.push([linkId, maxClicks]);
        return Promise.resolve(reservations.shift() ?? 'exhausted');
      },
    });
    return { ...handler, asked };
  }

  it('redirects, with one click, while the counter reserves a visit', async () => {
    const { handler, clicks, asked } = cappedHandler('reserved');
    const answer = await handler.serve(request());
    expect(answer).toMatchObject({ status: 302, headers: { location: capped.url } });
    expect(asked).toEqual([['42', 2]]);
    expect(clicks).toHaveLength(1);
  });

  it('answers 410 LINK_EXHAUSTED, with no click, once the visits are spent', async () => {
    const { handler, clicks } = cappedHandler('exhausted');
    const json = await handler.serve(request());
    expect(json.status).toBe(410);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(json.body ?? '')).toMatchObject({ code: 'LINK_EXHAUSTED', maxClicks: 2 });
    const html = await cappedHandler('exhausted').handler.serve(
      request({ headers: { accept: 'text/html' } }),
    );
    expect(html).toMatchObject({ status: 410 });
    expect(html.body).toContain('Link exhausted');
    expect(clicks).toHaveLength(0);
  });

  it('answers 503 VISIT_LIMIT_UNAVAILABLE with Retry-After, unlogged, when the counter cannot count', async () => {
    const { handler, clicks, errors } = cappedHandler('unavailable');
    const answer = await handler.serve(request());
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ code: 'VISIT_LIMIT_UNAVAILABLE' });
    expect(clicks).toHaveLength(0);
    expect(errors).toHaveLength(0);
  });

  it('never asks the counter about a link without a cap, nor about one that is gone', () => {
    const { handler, asked } = cappedHandler();
    const gone = handler.decide({ state: 'disabled', link: capped }, 'abc', '', NOW, visitor);
    expect(valueOf(gone)).toMatchObject({ kind: 'error' });
    const free = handler.decide({ state: 'active', link: target() }, 'abc', '', NOW, visitor);
    expect(valueOf(free)).toMatchObject({ kind: 'redirect' });
    expect(asked).toEqual([]);
  });
});

describe('RedirectHandler.serve', () => {
  it('answers a link in memory synchronously, with the click of the request', () => {
    const { handler, clicks } = handlerWith(() => ({ state: 'active', link: target() }));
    const answer = handler.serve(request({ url: '/abc?utm=a' })) as RedirectAnswer;
    expect(answer).toEqual({
      status: 302,
      headers: {
        location: 'https://example.com/landing?x=1&utm=a',
        'cache-control': 'private, max-age=0',
      },
    });
    expect(clicks).toHaveLength(1);
    expect(clicks[0]?.visitor).toMatchObject({
      method: 'GET',
      ip: '203.0.113.7',
      userAgent: 'jest',
      referrer: 'https://ref.example/',
    });
  });

  it('resolves the code a router gives rather than the raw path', async () => {
    const seen: string[] = [];
    const { handler } = handlerWith((code) => {
      seen.push(code);
      return Promise.resolve({ state: 'missing' });
    });
    const answer = await handler.serve(request({ url: '/%61bc?q=1', code: 'abc' }));
    expect(seen).toEqual(['abc']);
    expect(answer.status).toBe(404);
  });

  it('answers problem+json to clients and an HTML page to browsers', async () => {
    const { handler } = handlerWith(() => Promise.resolve({ state: 'missing' }));
    const json = await handler.serve(request());
    expect(json.status).toBe(404);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(json.body ?? '')).toMatchObject({
      code: 'LINK_NOT_FOUND',
      instance: '/abc',
      requestId: 'req-1',
    });
    const html = await handler.serve(request({ headers: { accept: 'text/html' } }));
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['cache-control']).toBe('no-store');
    expect(html.body).toContain('Link not found');
  });

  it('answers what the translator makes of a failure, without logging it', async () => {
    const outage = new DomainError(
      'DATABASE_UNAVAILABLE',
      'Try later.',
      {},
      {
        'retry-after': '5',
      },
    );
    const { handler, errors } = handlerWith(() => Promise.reject(new Error('ECONNREFUSED')), {
      translate: () => outage,
    });
    const answer = await handler.serve(request());
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(errors).toHaveLength(0);
  });

  it('turns an unexpected failure, thrown or rejected, into a logged 500 that reveals nothing', async () => {
    const thrown = handlerWith(() => {
      throw new Error('boom');
    });
    const rejected = handlerWith(() => Promise.reject(new Error('boom')));
    for (const { handler, errors } of [thrown, rejected]) {
      const answer = await handler.serve(request());
      expect(answer.status).toBe(500);
      expect(answer.body).not.toContain('boom');
      expect(JSON.parse(answer.body ?? '')).toMatchObject({ code: 'INTERNAL_ERROR' });
      expect(errors).toEqual([expect.objectContaining({ reqId: 'req-1', route: '/:code' })]);
    }
  });

  describe('with a per-IP limit', () => {
    const limitOf = (records: RateLimitRecord[], exemptLoopback = false) => {
      const hits: string[] = [];
      return {
        hits,
        limit: {
          perMinute: 2,
          exemptLoopback,
          hit: (tracker: string) => {
            hits.push(tracker);
            const record = records.shift();
            return record ? Promise.resolve(record) : Promise.reject(new Error('no record'));
          },
        },
      };
    };
    const open: RateLimitRecord = {
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    };
    const blocked: RateLimitRecord = {
      totalHits: 3,
      timeToExpire: 40,
      isBlocked: true,
      timeToBlockExpire: 40,
    };

    it('counts the hit by client, adds the RateLimit headers and redirects under the limit', async () => {
      const { hits, limit } = limitOf([open]);
      const { handler, clicks } = handlerWith(() => ({ state: 'active', link: target() }), {
        limit,
      });
      const answer = await handler.serve(request());
      expect(hits).toEqual(['ip:203.0.113.7']);
      expect(answer).toMatchObject({
        status: 302,
        headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '1', 'ratelimit-reset': '60' },
      });
      expect(clicks).toHaveLength(1);
    });

    it('answers 429 RATE_LIMITED with Retry-After over the limit, with no click', async () => {
      const { limit } = limitOf([blocked]);
      const { handler, clicks } = handlerWith(() => ({ state: 'active', link: target() }), {
        limit,
      });
      const answer = await handler.serve(request());
      expect(answer.status).toBe(429);
      expect(answer.headers).toMatchObject({ 'retry-after': '40', 'ratelimit-remaining': '0' });
      expect(JSON.parse(answer.body ?? '')).toMatchObject({ code: 'RATE_LIMITED' });
      expect(clicks).toHaveLength(0);
    });

    it('answers the 429 as problem+json to browsers too', async () => {
      const { limit } = limitOf([blocked]);
      const { handler } = handlerWith(() => ({ state: 'active', link: target() }), { limit });
      const answer = await handler.serve(request({ headers: { accept: 'text/html' } }));
      expect(answer.status).toBe(429);
      expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    });

    it('leaves loopback clients alone when they are exempt', () => {
      const { hits, limit } = limitOf([], true);
      const { handler } = handlerWith(() => ({ state: 'active', link: target() }), { limit });
      const answer = handler.serve(request({ ip: '127.0.0.1' })) as RedirectAnswer;
      expect(answer.status).toBe(302);
      expect(hits).toHaveLength(0);
    });

    it('counts first by default: a code it cannot resolve is counted all the same', async () => {
      const { hits, limit } = limitOf([open]);
      const { handler } = handlerWith(() => Promise.reject(new Unresolved('abc')), { limit });
      expect(await handler.serve(request())).toBe(UNRESOLVED);
      expect(hits).toEqual(['ip:203.0.113.7']);
    });

    it('afterLookup (the edge): an unresolved code is passed on uncounted, a resolved one counted once', async () => {
      const { hits, limit } = limitOf([open, blocked]);
      let known = false;
      const { handler, clicks } = handlerWith(
        () => (known ? { state: 'active', link: target() } : Promise.reject(new Unresolved('abc'))),
        { limit: { ...limit, afterLookup: true } },
      );
      expect(await handler.serve(request())).toBe(UNRESOLVED);
      expect(hits).toHaveLength(0);
      known = true;
      expect((await handler.serve(request())).status).toBe(302);
      expect(hits).toHaveLength(1);
      const over = await handler.serve(request());
      expect(over.status).toBe(429);
      expect(hits).toHaveLength(2);
      expect(clicks).toHaveLength(1);
    });

    it('does no limit work at all with a limit of 0', () => {
      const { hits, limit } = limitOf([]);
      const { handler } = handlerWith(() => ({ state: 'active', link: target() }), {
        limit: { ...limit, perMinute: 0 },
      });
      expect((handler.serve(request()) as RedirectAnswer).status).toBe(302);
      expect(hits).toHaveLength(0);
    });
  });
});

describe('mergeQuery', () => {
  it.each([
    [
      'adds a query to a target without one',
      'https://e.com/p',
      'a=1&b=2',
      'https://e.com/p?a=1&b=2',
    ],
    [
      'appends to the target query',
      'https://e.com/p?x=1',
      'utm_source=mail',
      'https://e.com/p?x=1&utm_source=mail',
    ],
    [
      'keeps the target fragment after the query',
      'https://e.com/p#section',
      'a=1',
      'https://e.com/p?a=1#section',
    ],
    [
      'keeps the target fragment with a target query',
      'https://e.com/p?x=1#section',
      'a=1',
      'https://e.com/p?x=1&a=1#section',
    ],
    [
      'leaves percent-encoding of the request as it came',
      'https://e.com/',
      'q=a%20b&r=%C3%BC',
      'https://e.com/?q=a%20b&r=%C3%BC',
    ],
    [
      'leaves the target query byte for byte when no key repeats',
      'https://e.com/?x=a%20b&y=c+d',
      'z=1',
      'https://e.com/?x=a%20b&y=c+d&z=1',
    ],
    ['keeps a value-less parameter', 'https://e.com/', 'flag', 'https://e.com/?flag'],
  ])('%s', (_, target, query, expected) => {
    expect(mergeQuery(target, query)).toBe(expected);
  });

  it('lets a parameter the request repeats replace the target value', () => {
    const merged = new URL(mergeQuery('https://e.com/p?utm_source=site&x=1', 'utm_source=mail'));
    expect(merged.searchParams.getAll('utm_source')).toEqual(['mail']);
    expect(merged.searchParams.get('x')).toBe('1');
    expect(merged.pathname).toBe('/p');
  });

  it('replaces every target value of a repeated key with every request value', () => {
    const merged = new URL(mergeQuery('https://e.com/?tag=a&tag=b&keep=1', 'tag=c&tag=d&new=2'));
    expect(merged.searchParams.getAll('tag')).toEqual(['c', 'd']);
    expect(merged.searchParams.get('keep')).toBe('1');
    expect(merged.searchParams.get('new')).toBe('2');
  });

  it('never changes the target origin or path', () => {
    const merged = new URL(mergeQuery('https://e.com/a/b', 'next=https%3A%2F%2Fevil.example%2F'));
    expect(merged.origin).toBe('https://e.com');
    expect(merged.pathname).toBe('/a/b');
    expect(merged.searchParams.get('next')).toBe('https://evil.example/');
  });
});

describe('codeEnd', () => {
  const code63 = `${'Ab9_-'.repeat(12)}Xyz`;
  const code64 = `${code63}_`;
  const code65 = `${code63}_Q`;

  it('has codes of the lengths the table below relies on', () => {
    expect(code63).toHaveLength(63);
    expect(code64).toHaveLength(64);
    expect(code65).toHaveLength(65);
  });

  it.each<[string, number]>([
    ['/abc', 4],
    ['/abc?x=1', 4],
    ['/a', 2],
    ['/abc?', 4],
    ['/A-z_09', 7],
    ['/abc?x=1?y=/2', 4],
    [`/${code63}`, 64],
    [`/${code63}?utm_source=mail`, 64],
    [`/${code64}`, 65],
    [`/${code64}?utm_source=mail`, 65],
    ['/', -1],
    ['', -1],
    ['/?x=1', -1],
    ['/abc/', -1],
    ['/abc/def', -1],
    ['//abc', -1],
    ['/%41bc', -1],
    ['/abc%20', -1],
    ['/ab.c', -1],
    [`/${code65}`, -1],
    [`/${code65}?x=1`, -1],
    ['/abc#x', -1],
    ['/é', -1],
    ['/abé', -1],
    ['abc', -1],
    ['*', -1],
    ['http://example.com/abc', -1],
  ])('codeEnd(%j) is %i', (url, end) => {
    expect(codeEnd(url)).toBe(end);
  });
});

import { query } from '../support/database';
import { eventually } from '../support/eventually';
import { expectRawProblem, LinksClient, rawRequest, type RawResponse } from '../support/http';
import { metric } from '../support/metrics';
import { useTestApi } from '../support/suite';

/**
 * Redirects are answered ahead of Fastify (redirectFront) when the path is `/<code>` or
 * `/<code>?<query>`; every other shape, such as a percent-encoded code, still takes the Fastify
 * route `/:code`. Both must give the same answers, ids and metrics, and leave every fixed route
 * (`/metrics`, `/docs-json`...) to Fastify.
 */

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** `/<code>` with its first letter percent-encoded: the same code, but only Fastify routes it. */
function encodedPath(code: string): string {
  const hex = code.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
  return `/%${hex}${code.slice(1)}`;
}

/** The headers of a response that must be the same on both paths (not the date or the id). */
function comparable(res: RawResponse): Record<string, unknown> {
  return without(res.headers, 'date', 'x-request-id');
}

/** `record` without `keys`. */
function without(record: object, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

/** The client addresses stored with the clicks of `code`, once there are `count` of them. */
function storedIps(databaseUrl: string, code: string, count: number): Promise<(string | null)[]> {
  return eventually(
    async () =>
      (
        await query<{ ip: string | null }>(
          databaseUrl,
          `SELECT c.ip FROM clicks c JOIN links l ON l.id = c.link_id WHERE l.code = $1
            ORDER BY c.occurred_at, c.id`,
          [code],
        )
      ).map((r) => r.ip),
    (ips) => ips.length >= count,
    { what: `${count} stored clicks of ${code}` },
  );
}

describe('redirects answered ahead of Fastify', () => {
  const { db, api } = useTestApi({
    env: { PUBLIC_BASE_URL: 'https://sn.ip', CLICKS_IP_MODE: 'raw', SWAGGER_ENABLED: 'true' },
  });
  let links: LinksClient;
  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  describe('fixed routes that look like codes stay with their own routes', () => {
    it('serves /metrics, with or without a query, on GET and HEAD', async () => {
      for (const path of ['/metrics', '/metrics?x=1']) {
        const res = await rawRequest(api.url, { path });
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.body).toContain('# TYPE http_request_duration_seconds histogram');
      }
      const head = await rawRequest(api.url, { method: 'HEAD', path: '/metrics' });
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toMatch(/^text\/plain/);
    });

    it('serves the OpenAPI document at /docs-json, and the docs at /docs', async () => {
      const json = await rawRequest(api.url, { path: '/docs-json' });
      expect(json.status).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      const document = JSON.parse(json.body) as { openapi?: string; paths?: object };
      expect(document.openapi).toMatch(/^3\./);
      expect(Object.keys(document.paths ?? {})).toContain('/api/v1/links');

      const yaml = await rawRequest(api.url, { path: '/docs-yaml' });
      expect(yaml.status).toBe(200);
      expect(yaml.body).toMatch(/^openapi: /m);

      const docs = await rawRequest(api.url, { path: '/docs' });
      expect(docs.headers['content-type'] ?? '').not.toMatch(/problem\+json/);
      expect(docs.status).toBeLessThan(400);
    });

    it('serves /health/live', async () => {
      const res = await rawRequest(api.url, { path: '/health/live' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('answers a code that is no fixed route from the redirect, 404 LINK_NOT_FOUND', async () => {
      // The counterpart: a path like the fixed ones, but not one of them.
      const res = await rawRequest(api.url, { path: '/metricz' });
      expect(expectRawProblem(res, 404, 'LINK_NOT_FOUND').instance).toBe('/metricz');
    });
  });

  describe('the front path and the Fastify path give the same answers', () => {
    it('redirects a percent-encoded code through the Fastify route, with the same headers', async () => {
      await links.create({ url: 'https://example.com/enc', alias: 'abc' });
      const front = await rawRequest(api.url, { path: '/abc?utm=1' });
      const fastify = await rawRequest(api.url, { path: '/%61bc?utm=1' });
      for (const res of [front, fastify]) {
        expect(res.status).toBe(302);
        expect(res.headers.location).toBe('https://example.com/enc?utm=1');
        expect(res.headers['cache-control']).toBe('private, max-age=0');
        expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        expect(res.body).toBe('');
      }
      expect(comparable(fastify)).toEqual(comparable(front));
      expect(front.headers['x-request-id']).not.toBe(fastify.headers['x-request-id']);
    });

    it('gives the same redirect, echoing a well-formed client x-request-id', async () => {
      const link = await links.create({ url: 'https://example.com/same', redirectType: 307 });
      const paths = [`/${link.code}`, encodedPath(link.code)];
      const [front, fastify] = await Promise.all(
        paths.map((path, i) =>
          rawRequest(api.url, { path, headers: { 'x-request-id': `client-id.${i}:x` } }),
        ),
      );
      for (const [i, res] of [front!, fastify!].entries()) {
        expect({ path: paths[i], status: res.status }).toEqual({ path: paths[i], status: 307 });
        expect(res.headers.location).toBe('https://example.com/same');
        expect(res.headers['cache-control']).toBe('private, max-age=0');
        expect(res.headers['x-request-id']).toBe(`client-id.${i}:x`);
      }
      expect(comparable(fastify!)).toEqual(comparable(front!));
    });

    it('replaces a malformed client x-request-id on both paths', async () => {
      const link = await links.create({ url: 'https://example.com/bad-id' });
      for (const path of [`/${link.code}`, encodedPath(link.code)]) {
        const res = await rawRequest(api.url, { path, headers: { 'x-request-id': 'bad id!' } });
        expect(res.status).toBe(302);
        expect(res.headers['x-request-id']).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        );
      }
    });

    it('answers an unknown code with the same problem+json', async () => {
      const paths = ['/noSuchCode7', encodedPath('noSuchCode7')];
      const [front, fastify] = await Promise.all(
        paths.map((path) => rawRequest(api.url, { path: `${path}?q=1` })),
      );
      const problems = [front!, fastify!].map((res, i) => {
        expect(res.headers['cache-control']).toBe('no-store');
        const problem = expectRawProblem(res, 404, 'LINK_NOT_FOUND');
        // The path as requested, without the query.
        expect(problem.instance).toBe(paths[i]);
        return problem;
      });
      expect(without(problems[1]!, 'instance', 'requestId')).toEqual(
        without(problems[0]!, 'instance', 'requestId'),
      );
      // The instance, the requested path, is two characters longer on the Fastify path.
      for (const res of [front!, fastify!]) {
        expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
      }
      expect(without(comparable(fastify!), 'content-length')).toEqual(
        without(comparable(front!), 'content-length'),
      );
    });

    it('echoes a client x-request-id in an unknown code problem on both paths', async () => {
      for (const path of ['/noSuchCode8', encodedPath('noSuchCode8')]) {
        const res = await rawRequest(api.url, { path, headers: { 'x-request-id': 'req-404' } });
        expect(res.headers['x-request-id']).toBe('req-404');
        expect(expectRawProblem(res, 404, 'LINK_NOT_FOUND').requestId).toBe('req-404');
      }
    });

    it('answers an unknown code with the same HTML page for browsers', async () => {
      const accept = 'text/html,application/xhtml+xml,*/*;q=0.8';
      const [front, fastify] = await Promise.all(
        ['/noSuchCode9', encodedPath('noSuchCode9')].map((path) =>
          rawRequest(api.url, { path, headers: { accept } }),
        ),
      );
      for (const res of [front!, fastify!]) {
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-request-id']).toBeTruthy();
        expect(res.body).toMatch(/^<!doctype html>/i);
        expect(res.body).toContain('Link not found');
      }
      expect(fastify!.body).toBe(front!.body);
      expect(comparable(fastify!)).toEqual(comparable(front!));
    });

    it('answers HEAD like GET on both paths, without a body', async () => {
      const link = await links.create({ url: 'https://example.com/head', redirectType: 308 });
      for (const [code, status] of [
        [link.code, 308],
        ['noSuchCodeH', 404],
      ] as const) {
        const heads: RawResponse[] = [];
        for (const path of [`/${code}`, encodedPath(code)]) {
          const head = await rawRequest(api.url, { method: 'HEAD', path });
          const get = await rawRequest(api.url, { path });
          expect({ path, status: head.status, body: head.body }).toEqual({
            path,
            status,
            body: '',
          });
          expect(comparable(head)).toEqual(comparable(get));
          heads.push(head);
        }
        // Only the length of the problem's instance (the path as requested) may differ.
        expect(without(comparable(heads[1]!), 'content-length')).toEqual(
          without(comparable(heads[0]!), 'content-length'),
        );
      }
    });
  });

  describe('content-length on the front path', () => {
    it('is 0 for a redirect', async () => {
      const link = await links.create({ url: 'https://example.com/len' });
      const res = await rawRequest(api.url, { path: `/${link.code}` });
      expect(res.status).toBe(302);
      expect(res.headers['content-length']).toBe('0');
      expect(res.headers['transfer-encoding']).toBeUndefined();
    });

    it('is the byte length of a problem+json body, and of an HTML page', async () => {
      const problem = await rawRequest(api.url, {
        path: '/noSuchCodeL?x=1',
        headers: { 'x-request-id': 'r'.repeat(128) },
      });
      expect(problem.status).toBe(404);
      expect(problem.headers['content-length']).toBe(String(Buffer.byteLength(problem.body)));
      expect(problem.headers['transfer-encoding']).toBeUndefined();

      const html = await rawRequest(api.url, {
        path: '/noSuchCodeL',
        headers: { accept: 'text/html' },
      });
      expect(html.status).toBe(404);
      expect(html.headers['content-length']).toBe(String(Buffer.byteLength(html.body)));
    });

    it('is the byte length of the body of a disabled link, as problem+json or HTML', async () => {
      const link = await links.create({ url: 'https://example.com/gone' });
      expect((await links.patch(link.code, { disabled: true })).status).toBe(200);
      for (const accept of ['application/json', 'text/html']) {
        const res = await rawRequest(api.url, { path: `/${link.code}`, headers: { accept } });
        expect(res.status).toBe(410);
        expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
      }
    });
  });

  it('counts redirects and their durations exactly once, over both paths', async () => {
    const link = await links.create({ url: 'https://example.com/count' });
    const durations = { method: 'GET', route: '/:code', status_code: '302' };
    const notFoundDurations = { method: 'GET', route: '/:code', status_code: '404' };
    const read = async () => ({
      redirected: await metric(api.url, 'snip_redirects_total', { outcome: 'redirected' }),
      notFound: await metric(api.url, 'snip_redirects_total', { outcome: 'not_found' }),
      timed: await metric(api.url, 'http_request_duration_seconds_count', durations),
      timedNotFound: await metric(
        api.url,
        'http_request_duration_seconds_count',
        notFoundDurations,
      ),
    });
    const before = await read();

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await rawRequest(api.url, { path: `/${link.code}?i=${i}` })).status);
    }
    for (let i = 0; i < 3; i++) {
      statuses.push((await rawRequest(api.url, { path: encodedPath(link.code) })).status);
    }
    statuses.push((await rawRequest(api.url, { path: '/noSuchCodeM' })).status);
    statuses.push((await rawRequest(api.url, { path: encodedPath('noSuchCodeM') })).status);
    expect(statuses).toEqual([302, 302, 302, 302, 302, 302, 302, 302, 404, 404]);

    const after = await read();
    expect({
      redirected: after.redirected - before.redirected,
      notFound: after.notFound - before.notFound,
      timed: after.timed - before.timed,
      timedNotFound: after.timedNotFound - before.timedNotFound,
    }).toEqual({ redirected: 8, notFound: 2, timed: 8, timedNotFound: 2 });
    // A second read adds nothing: hot counts are folded in once.
    expect(await read()).toEqual(after);
  });

  it('redirects a 64-character alias', async () => {
    const alias = `${'Ab9_-'.repeat(12)}Xy_z`;
    expect(alias).toHaveLength(64);
    await links.create({ url: 'https://example.com/long-alias', alias });
    const res = await rawRequest(api.url, { path: `/${alias}?x=1` });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://example.com/long-alias?x=1');
  });

  it('records the socket address as the client, ignoring X-Forwarded-For, on both paths', async () => {
    const link = await links.create({ url: 'https://example.com/ip' });
    for (const path of [`/${link.code}`, encodedPath(link.code)]) {
      const res = await rawRequest(api.url, {
        path,
        headers: { 'x-forwarded-for': '203.0.113.7', 'user-agent': BROWSER },
      });
      expect(res.status).toBe(302);
    }
    expect(await storedIps(db.url, link.code, 2)).toEqual(['127.0.0.1', '127.0.0.1']);
  });
});

describe('redirects ahead of Fastify behind a trusted proxy', () => {
  const { db, api } = useTestApi({
    env: { CLICKS_IP_MODE: 'raw', TRUSTED_PROXIES: '127.0.0.1/32' },
  });

  it('records the X-Forwarded-For client on both paths', async () => {
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/proxied' });
    const paths = [`/${link.code}`, encodedPath(link.code)];
    for (const [i, path] of paths.entries()) {
      const res = await rawRequest(api.url, {
        path,
        // The leftmost entry is what the client claims; only the hop our proxy saw is believed.
        headers: { 'x-forwarded-for': `192.0.2.99, 203.0.113.${i + 1}`, 'user-agent': BROWSER },
      });
      expect(res.status).toBe(302);
    }
    const ips = await storedIps(db.url, link.code, 2);
    expect([...ips].sort()).toEqual(['203.0.113.1', '203.0.113.2']);
  });

  it('records the proxy itself when it sends no X-Forwarded-For', async () => {
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/direct' });
    const res = await rawRequest(api.url, {
      path: `/${link.code}`,
      headers: { 'user-agent': BROWSER },
    });
    expect(res.status).toBe(302);
    expect(await storedIps(db.url, link.code, 1)).toEqual(['127.0.0.1']);
  });
});

describe('redirects with a per-IP redirect limit', () => {
  const { api } = useTestApi({ env: { REDIRECT_RATE_LIMIT_PER_MIN: '3' } });

  it('still redirects, through the route that applies the limit', async () => {
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/limited' });
    const answers: RawResponse[] = [];
    for (let i = 0; i < 4; i++) answers.push(await rawRequest(api.url, { path: `/${link.code}` }));

    expect(answers.map((r) => r.status)).toEqual([302, 302, 302, 429]);
    for (const [i, res] of answers.slice(0, 3).entries()) {
      expect(res.headers.location).toBe('https://example.com/limited');
      expect(res.headers['ratelimit-limit']).toBe('3');
      expect(res.headers['ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = answers[3]!;
    expectRawProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(limited.headers.location).toBeUndefined();
  });
});

import { expectProblem, expectRawProblem, LinksClient, rawRequest } from '../support/http';
import { useTestApi } from '../support/suite';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP surface: paths, request ids, health, docs', () => {
  const { api } = useTestApi({ env: { HTTP_MAX_URL_LENGTH: '2048' } });
  let links: LinksClient;
  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  describe('malformed and long paths are a 4xx, never a 500', () => {
    it.each(['/%E0%A4%A', '/%E0%A4%A?x=1', '/%zz', '/api/v1/links/%E0%A4%A', '/abc%'])(
      'answers %s with 400 MALFORMED_URL',
      async (path) => {
        for (const method of ['GET', 'DELETE']) {
          const res = await rawRequest(api.url, { method, path });
          expectRawProblem(res, 400, 'MALFORMED_URL');
        }
      },
    );

    it('answers a PATCH to a malformed path with 400 MALFORMED_URL', async () => {
      const res = await rawRequest(api.url, {
        method: 'PATCH',
        path: '/api/v1/links/%E0%A4%A',
        headers: { 'content-type': 'application/json' },
        body: '{"disabled":true}',
      });
      expectRawProblem(res, 400, 'MALFORMED_URL');
    });

    it('answers an absurdly long code with 414 URI_TOO_LONG', async () => {
      const res = await rawRequest(api.url, { path: `/${'a'.repeat(5000)}` });
      const problem = expectRawProblem(res, 414, 'URI_TOO_LONG');
      expect(problem.instance!.length).toBeLessThan(300);
    });

    it('answers a path over HTTP_MAX_URL_LENGTH with 414, whatever its shape', async () => {
      const nested = `/${'abc/'.repeat(600)}`;
      expectRawProblem(await rawRequest(api.url, { path: nested }), 414, 'URI_TOO_LONG');
      const longQuery = `/someCode?q=${'x'.repeat(3000)}`;
      expectRawProblem(await rawRequest(api.url, { path: longQuery }), 414, 'URI_TOO_LONG');
      const longApi = `/api/v1/links?cursor=${'x'.repeat(3000)}`;
      expectRawProblem(await rawRequest(api.url, { path: longApi }), 414, 'URI_TOO_LONG');
    });

    it('answers a path just under HTTP_MAX_URL_LENGTH normally', async () => {
      const link = await links.create({ url: 'https://example.com/' });
      const path = `/${link.code}?q=`;
      const res = await rawRequest(api.url, { path: path + 'x'.repeat(2048 - path.length) });
      expect(res.status).toBe(302);
    });

    it('answers an unknown route with 404 NOT_FOUND problem+json', async () => {
      await expectProblem(await fetch(`${api.url}/a/b/c`), 404, 'NOT_FOUND');
      await expectProblem(await fetch(`${api.url}/api/v2/links`), 404, 'NOT_FOUND');
    });

    it.each([
      ['PUT', '/api/v1/links', 'GET, HEAD, POST'],
      ['DELETE', '/api/v1/links', 'GET, HEAD, POST'],
      ['PUT', '/api/v1/links/someCode', 'GET, HEAD, PATCH, DELETE'],
      ['POST', '/someCode', 'GET, HEAD'],
      ['POST', '/health/live', 'GET, HEAD'],
    ])(
      'answers %s %s, a method the path has no route for, with 405 and Allow: %s',
      async (method, path, allow) => {
        const res = await fetch(`${api.url}${path}`, { method });
        await expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
        expect(res.headers.get('allow')).toBe(allow);
      },
    );
  });

  describe('x-request-id', () => {
    it.each(['abc-123', 'req_1.2:3', 'A'.repeat(128)])(
      'echoes the well-formed id %s on success and in errors',
      async (id) => {
        const ok = await fetch(`${api.url}/health/live`, { headers: { 'x-request-id': id } });
        expect(ok.headers.get('x-request-id')).toBe(id);
        const problem = await expectProblem(
          await fetch(`${api.url}/no-such-code`, { headers: { 'x-request-id': id } }),
          404,
          'LINK_NOT_FOUND',
        );
        expect(problem.requestId).toBe(id);
      },
    );

    it.each(['bad id!', 'A'.repeat(129), '<script>', 'a\u00e9'])(
      'replaces the malformed id %j with a fresh one',
      async (id) => {
        const res = await rawRequest(api.url, {
          path: '/no-such-code',
          headers: { 'x-request-id': id },
        });
        const problem = expectRawProblem(res, 404, 'LINK_NOT_FOUND');
        expect(problem.requestId).toMatch(UUID);
      },
    );

    it('gives every request its own id when none is sent', async () => {
      const ids = await Promise.all(
        [1, 2, 3].map(async () =>
          (await fetch(`${api.url}/health/live`)).headers.get('x-request-id'),
        ),
      );
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(3);
    });

    it('sends the id with a redirect and a 201', async () => {
      const created = await links.post(
        { url: 'https://example.com/id' },
        { 'x-request-id': 'create-1' },
      );
      expect(created.headers.get('x-request-id')).toBe('create-1');
      const { code } = (await created.json()) as { code: string };
      const res = await links.redirect(`/${code}`, { headers: { 'x-request-id': 'redirect-1' } });
      expect(res.headers.get('x-request-id')).toBe('redirect-1');
    });

    it('sends the id with a 413', async () => {
      const res = await links.post(JSON.stringify({ url: 'x'.repeat(20_000) }), {
        'x-request-id': 'big-1',
      });
      expect((await expectProblem(res, 413, 'PAYLOAD_TOO_LARGE')).requestId).toBe('big-1');
    });
  });

  describe('health', () => {
    it('/health/live says the process runs', async () => {
      const res = await fetch(`${api.url}/health/live`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok' });
    });

    it('/health/ready checks the database', async () => {
      const res = await fetch(`${api.url}/health/ready`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' } },
      });
    });
  });

  describe('docs', () => {
    it('serves Swagger UI at /docs', async () => {
      const res = await fetch(`${api.url}/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/swagger/i);
    });

    it('serves every file the Swagger UI page loads, and none of the stock ones (the petstore initializer)', async () => {
      const page = await (await fetch(`${api.url}/docs/`)).text();
      const loaded = [...page.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
      expect(loaded).toEqual(expect.arrayContaining(['swagger-ui-init.js', 'swagger-ui.css']));
      for (const file of loaded) {
        const res = await fetch(`${api.url}/docs/${file}`);
        expect({ file, status: res.status }).toEqual({ file, status: 200 });
      }
      for (const file of [
        'swagger-initializer.js',
        'package.json',
        'swagger-ui.css.map',
        'index.js',
      ]) {
        const res = await fetch(`${api.url}/docs/${file}`);
        expect({ file, status: res.status, type: res.headers.get('content-type') }).toEqual({
          file,
          status: 404,
          type: expect.stringMatching(/^application\/problem\+json/) as unknown,
        });
        expect(await res.text()).not.toContain('petstore');
      }
    });

    it('serves the OpenAPI document at /docs-json with the links API', async () => {
      const res = await fetch(`${api.url}/docs-json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      };
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths['/api/v1/links']!).sort()).toEqual(['get', 'post']);
      expect(Object.keys(doc.paths['/api/v1/links/{code}']!).sort()).toEqual([
        'delete',
        'get',
        'patch',
      ]);
      // The redirect, health checks and metrics are described too (see openapi.e2e-spec.ts).
      expect(Object.keys(doc.paths['/{code}']!).sort()).toEqual(['get', 'head']);
      expect(
        Object.keys(doc.paths)
          .filter((p) => /^\/(health|metrics)/.test(p))
          .sort(),
      ).toEqual(['/health/live', '/health/ready', '/metrics']);
      expect(Object.keys(doc.components.schemas.CreateLinkDto!.properties!).sort()).toEqual([
        'alias',
        'expiresAt',
        'maxClicks',
        'redirectType',
        'url',
      ]);
    });
  });
});

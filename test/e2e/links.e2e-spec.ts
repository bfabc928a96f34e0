import { expectProblem, LinksClient, type LinkBody } from '../support/http';
import { useTestApi } from '../support/suite';

const BASE = 'https://sn.ip';
const GENERATED_CODE = /^[0-9A-Za-z]{7}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('links API (/api/v1/links)', () => {
  const { api } = useTestApi({ env: { PUBLIC_BASE_URL: BASE } });
  let links: LinksClient;
  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  describe('POST', () => {
    it('creates a link: 201 with the documented shape, a generated code and a 302 default', async () => {
      const res = await links.post({ url: 'https://example.com/spring?x=1' });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as LinkBody;
      expect(Object.keys(body).sort()).toEqual(
        [
          'clicks',
          'code',
          'createdAt',
          'disabled',
          'expiresAt',
          'maxClicks',
          'redirectType',
          'shortUrl',
          'updatedAt',
          'url',
        ].sort(),
      );
      expect(body.code).toMatch(GENERATED_CODE);
      expect(body).toMatchObject({
        shortUrl: `${BASE}/${body.code}`,
        url: 'https://example.com/spring?x=1',
        redirectType: 302,
        expiresAt: null,
        disabled: false,
      });
      expect(body.createdAt).toMatch(ISO);
      expect(body.updatedAt).toBe(body.createdAt);
    });

    it.each([301, 302, 307, 308])('keeps redirectType %i', async (redirectType) => {
      const body = await links.create({ url: 'https://example.com/t', redirectType });
      expect(body.redirectType).toBe(redirectType);
      const res = await links.redirect(`/${body.code}`);
      expect(res.status).toBe(redirectType);
    });

    it('creates a link under a custom alias, case-sensitively', async () => {
      const lower = await links.create({ url: 'https://example.com/a', alias: 'spring-sale' });
      expect(lower).toMatchObject({
        code: 'spring-sale',
        alias: 'spring-sale',
        shortUrl: `${BASE}/spring-sale`,
      });
      const upper = await links.create({ url: 'https://example.com/b', alias: 'Spring-Sale' });
      expect(upper.code).toBe('Spring-Sale');
      expect((await links.redirect('/Spring-Sale')).headers.get('location')).toBe(
        'https://example.com/b',
      );
      expect((await links.redirect('/spring-sale')).headers.get('location')).toBe(
        'https://example.com/a',
      );
    });

    it('refuses an alias in use with 409 ALIAS_TAKEN', async () => {
      await links.create({ url: 'https://example.com/1', alias: 'taken_1' });
      const problem = await expectProblem(
        await links.post({ url: 'https://example.com/2', alias: 'taken_1' }),
        409,
        'ALIAS_TAKEN',
      );
      expect(problem.detail).toContain('taken_1');
      expect(problem.instance).toBe('/api/v1/links');
    });

    it('stores a future expiry', async () => {
      const body = await links.create({
        url: 'https://example.com/e',
        expiresAt: '2099-12-31T23:59:00+01:00',
      });
      expect(body.expiresAt).toBe('2099-12-31T22:59:00.000Z');
    });

    it('stores the URL normalised, with an IDN host in punycode', async () => {
      const body = await links.create({ url: 'HTTPS://Bücher.example/straße' });
      expect(body.url).toBe('https://xn--bcher-kva.example/stra%C3%9Fe');
    });

    it.each([
      ['an ftp URL', 'ftp://example.com/f'],
      ['a javascript: URL', 'javascript:alert(1)'],
      ['a relative URL', '/just/a/path'],
      ['a URL without a scheme', 'example.com'],
      ['a URL with whitespace', 'https://example.com/a b'],
      ['a URL with a control character', 'https://example.com/\u0007'],
      ['a URL with credentials', 'https://user:pw@example.com/'],
      ['a URL to snip itself', `${BASE}/abc`],
      ['a URL to snip itself with the default port', 'https://SN.IP:443/abc'],
      ['a URL over 2048 characters', `https://example.com/${'a'.repeat(2030)}`],
      ['an empty URL', ''],
    ])('refuses %s with 400 URL_NOT_ALLOWED', async (_, url) => {
      await expectProblem(await links.post({ url }), 400, 'URL_NOT_ALLOWED');
    });

    it('accepts a URL of exactly 2048 characters', async () => {
      const url = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
      expect((await links.create({ url })).url).toBe(url);
    });

    describe('validation', () => {
      it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
        await expectProblem(await links.post('{"url": "https://e.com"'), 400, 'MALFORMED_JSON');
        await expectProblem(await links.post(''), 400, 'MALFORMED_JSON');
      });

      it('refuses prototype pollution attempts', async () => {
        for (const body of [
          '{"__proto__":{"admin":true},"url":"https://example.com"}',
          '{"constructor":{"prototype":{"admin":true}},"url":"https://example.com"}',
        ]) {
          const res = await links.post(body);
          expect(res.status).toBe(400);
          await expectProblem(res, 400, 'MALFORMED_JSON');
        }
      });

      it.each([
        ['url', { url: 42 }],
        ['url', { url: ['https://example.com'] }],
        ['url', { url: { href: 'https://example.com' } }],
        ['alias', { url: 'https://example.com', alias: 123 }],
        ['alias', { url: 'https://example.com', alias: null }],
        ['redirectType', { url: 'https://example.com', redirectType: '301' }],
        ['redirectType', { url: 'https://example.com', redirectType: 303 }],
        ['redirectType', { url: 'https://example.com', redirectType: 301.5 }],
        ['expiresAt', { url: 'https://example.com', expiresAt: 4102444800000 }],
        ['expiresAt', { url: 'https://example.com', expiresAt: null }],
      ])('refuses a wrong type of %s with 400 VALIDATION_FAILED (%j)', async (field, body) => {
        const problem = await expectProblem(await links.post(body), 400, 'VALIDATION_FAILED');
        expect(problem.errors?.map((e) => e.field)).toContain(field);
      });

      it('refuses unknown fields, naming them', async () => {
        const problem = await expectProblem(
          await links.post({ url: 'https://example.com', code: 'mine', disabled: true }),
          400,
          'VALIDATION_FAILED',
        );
        expect(problem.errors?.map((e) => e.field).sort()).toEqual(['code', 'disabled']);
      });

      it.each([
        ['an array', '[{"url":"https://example.com"}]'],
        ['a string', '"https://example.com"'],
        ['a number', '42'],
        ['null', 'null'],
      ])('refuses %s as body', async (_, body) => {
        const problem = await expectProblem(await links.post(body), 400, 'VALIDATION_FAILED');
        expect(problem.errors).toEqual([{ field: 'body', message: 'must be a JSON object' }]);
      });

      it('refuses a body without url', async () => {
        const problem = await expectProblem(
          await links.post({ alias: 'no-url' }),
          400,
          'VALIDATION_FAILED',
        );
        expect(problem.errors?.map((e) => e.field)).toContain('url');
        expect((await links.get('no-url')).status).toBe(404);
      });

      it.each(['ab', 'a b', 'a/b', 'a.b', 'ünï', 'x'.repeat(65), ''])(
        'refuses the alias %j, which breaks the pattern',
        async (alias) => {
          const problem = await expectProblem(
            await links.post({ url: 'https://example.com', alias }),
            400,
            'VALIDATION_FAILED',
          );
          expect(problem.errors?.map((e) => e.field)).toEqual(['alias']);
        },
      );

      it('accepts an alias of 3 and of 64 characters', async () => {
        expect((await links.create({ url: 'https://e.com', alias: 'a_-' })).code).toBe('a_-');
        const long = 'L'.repeat(64);
        expect((await links.create({ url: 'https://e.com', alias: long })).code).toBe(long);
      });

      it.each(['api', 'API', 'docs', 'Docs-Json', 'docs-yaml', 'health', 'metrics', 'Metrics'])(
        'refuses the reserved alias %s with 400 ALIAS_RESERVED',
        async (alias) => {
          await expectProblem(
            await links.post({ url: 'https://example.com', alias }),
            400,
            'ALIAS_RESERVED',
          );
        },
      );

      it.each([
        ['in the past', '2001-01-01T00:00:00Z'],
        ['not ISO 8601', 'tomorrow'],
        ['not ISO 8601 (RFC 2822)', 'Tue, 01 Jan 2030 00:00:00 GMT'],
        ['an impossible date', '2030-02-31T00:00:00Z'],
      ])('refuses an expiresAt %s', async (_, expiresAt) => {
        const problem = await expectProblem(
          await links.post({ url: 'https://example.com', expiresAt }),
          400,
          'VALIDATION_FAILED',
        );
        expect(problem.errors?.map((e) => e.field)).toEqual(['expiresAt']);
      });

      it('refuses a body over 16 KiB with 413 PAYLOAD_TOO_LARGE', async () => {
        const padded = (size: number) => {
          const skeleton = JSON.stringify({ url: 'https://example.com/' });
          return JSON.stringify({
            url: `https://example.com/${'a'.repeat(size - skeleton.length)}`,
          });
        };
        expect(Buffer.byteLength(padded(16 * 1024 + 1))).toBe(16 * 1024 + 1);
        await expectProblem(await links.post(padded(16 * 1024 + 1)), 413, 'PAYLOAD_TOO_LARGE');
        // At the limit the body is read, and the URL policy answers instead.
        await expectProblem(await links.post(padded(16 * 1024)), 400, 'URL_NOT_ALLOWED');
      });

      it.each([
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ])('refuses a %s body with 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
        const res = await links.post(
          type.startsWith('application/x-www') ? 'url=https%3A%2F%2Fexample.com' : 'url',
          { 'content-type': type },
        );
        await expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      });

      it('accepts application/json with a charset', async () => {
        const res = await links.post(JSON.stringify({ url: 'https://example.com/cs' }), {
          'content-type': 'application/json; charset=utf-8',
        });
        expect(res.status).toBe(201);
      });
    });
  });

  describe('GET one', () => {
    it('returns the link as created', async () => {
      const created = await links.create({ url: 'https://example.com/get', alias: 'get-me' });
      const res = await links.get('get-me');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(created);
    });

    it.each(['nope-404', 'a.b', 'x'.repeat(65)])('answers 404 LINK_NOT_FOUND for %s', async (c) => {
      const problem = await expectProblem(await links.get(c), 404, 'LINK_NOT_FOUND');
      expect(problem.instance).toBe(`/api/v1/links/${c}`);
    });
  });

  describe('GET list', () => {
    it('pages through every link newest first with a cursor', async () => {
      const mine: LinkBody[] = [];
      for (let i = 0; i < 23; i++) mine.push(await links.create({ url: `https://e.com/p${i}` }));

      const everything = (await (await links.list('?limit=100')).json()) as {
        items: LinkBody[];
        nextCursor: string | null;
      };
      expect(everything.nextCursor).toBeNull();
      expect(everything.items.length).toBeGreaterThanOrEqual(23);

      const pages: LinkBody[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await links.list(query);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { items: LinkBody[]; nextCursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(10);
        pages.push(page.items);
        cursor = page.nextCursor;
        if (cursor !== null) expect(page.items).toHaveLength(10);
      } while (cursor !== null && pages.length < 50);

      expect(pages.length).toBeGreaterThan(2);
      const paged = pages.flat();
      expect(paged.map((l) => l.code)).toEqual(everything.items.map((l) => l.code));
      expect(new Set(paged.map((l) => l.code)).size).toBe(paged.length);
      // Newest first.
      for (let i = 1; i < paged.length; i++) {
        expect(Date.parse(paged[i - 1]!.createdAt)).toBeGreaterThanOrEqual(
          Date.parse(paged[i]!.createdAt),
        );
      }
      // The links just made come first, in reverse order of creation.
      expect(paged.slice(0, 23).map((l) => l.code)).toEqual(mine.map((l) => l.code).reverse());
    });

    it('returns 20 links by default', async () => {
      const page = (await (await links.list()).json()) as { items: LinkBody[]; nextCursor: string };
      expect(page.items).toHaveLength(20);
      expect(typeof page.nextCursor).toBe('string');
    });

    it('accepts a limit of 1 and of 100', async () => {
      expect(((await (await links.list('?limit=1')).json()) as { items: [] }).items).toHaveLength(
        1,
      );
      expect((await links.list('?limit=100')).status).toBe(200);
    });

    it.each(['0', '101', 'abc', '1.5', '-1', ''])(
      'refuses limit=%j with 400 VALIDATION_FAILED',
      async (limit) => {
        const problem = await expectProblem(
          await links.list(`?limit=${limit}`),
          400,
          'VALIDATION_FAILED',
        );
        expect(problem.errors?.map((e) => e.field)).toContain('limit');
      },
    );

    it('refuses unknown query parameters', async () => {
      const problem = await expectProblem(
        await links.list('?limit=5&sort=asc'),
        400,
        'VALIDATION_FAILED',
      );
      expect(problem.errors?.map((e) => e.field)).toEqual(['sort']);
    });

    const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
    it.each([
      ['garbage', 'zzz'],
      ['empty', ''],
      ['not base64 of a position', cursorOf('hello')],
      ['an id beyond bigint', cursorOf('1764300000000:99999999999999999999')],
      ['a negative id', cursorOf('1764300000000:-1')],
      ['too long', 'a'.repeat(201)],
    ])('refuses a cursor that is %s with 400', async (_, cursor) => {
      const res = await links.list(`?cursor=${encodeURIComponent(cursor)}`);
      const problem = await expectProblem(
        res,
        400,
        cursor.length > 200 ? 'VALIDATION_FAILED' : 'INVALID_CURSOR',
      );
      expect(problem.status).toBe(400);
    });
  });

  describe('PATCH', () => {
    let link: LinkBody;
    beforeEach(async () => {
      link = await links.create({ url: 'https://example.com/before' });
    });

    it('changes the url, normalised, and the redirect follows', async () => {
      const res = await links.patch(link.code, { url: 'https://Example.com/after' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as LinkBody;
      expect(body).toMatchObject({ code: link.code, url: 'https://example.com/after' });
      expect(Date.parse(body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(link.updatedAt));
      expect(body.createdAt).toBe(link.createdAt);
      expect((await links.redirect(`/${link.code}`)).headers.get('location')).toBe(
        'https://example.com/after',
      );
    });

    it('sets and clears expiresAt', async () => {
      const set = (await (
        await links.patch(link.code, { expiresAt: '2098-01-01T00:00:00Z' })
      ).json()) as LinkBody;
      expect(set.expiresAt).toBe('2098-01-01T00:00:00.000Z');
      const cleared = await links.patch(link.code, { expiresAt: null });
      expect(cleared.status).toBe(200);
      expect(((await cleared.json()) as LinkBody).expiresAt).toBeNull();
      expect(((await (await links.get(link.code)).json()) as LinkBody).expiresAt).toBeNull();
    });

    it('changes the redirect type', async () => {
      const body = (await (await links.patch(link.code, { redirectType: 308 })).json()) as LinkBody;
      expect(body.redirectType).toBe(308);
      expect((await links.redirect(`/${link.code}`)).status).toBe(308);
    });

    it('disables and enables the link', async () => {
      const off = (await (await links.patch(link.code, { disabled: true })).json()) as LinkBody;
      expect(off.disabled).toBe(true);
      await expectProblem(await links.redirect(`/${link.code}`), 410, 'LINK_GONE');
      const on = (await (await links.patch(link.code, { disabled: false })).json()) as LinkBody;
      expect(on.disabled).toBe(false);
      expect((await links.redirect(`/${link.code}`)).status).toBe(302);
    });

    it('changes several fields at once and leaves the others', async () => {
      const body = (await (
        await links.patch(link.code, { redirectType: 307, disabled: false })
      ).json()) as LinkBody;
      expect(body).toMatchObject({ url: 'https://example.com/before', redirectType: 307 });
    });

    it('refuses an empty patch with 400 VALIDATION_FAILED', async () => {
      await expectProblem(await links.patch(link.code, {}), 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['url', { url: null }],
      ['url', { url: 5 }],
      ['disabled', { disabled: null }],
      ['disabled', { disabled: 'yes' }],
      ['redirectType', { redirectType: null }],
      ['redirectType', { redirectType: 300 }],
      ['expiresAt', { expiresAt: 'soon' }],
      ['expiresAt', { expiresAt: '2001-01-01T00:00:00Z' }],
      ['alias', { alias: 'renamed' }],
      ['code', { code: 'renamed' }],
    ])('refuses a bad %s (%j) with 400 VALIDATION_FAILED', async (field, body) => {
      const problem = await expectProblem(
        await links.patch(link.code, body),
        400,
        'VALIDATION_FAILED',
      );
      expect(problem.errors?.map((e) => e.field)).toContain(field);
      // Nothing changed.
      expect(await (await links.get(link.code)).json()).toEqual(link);
    });

    it('applies the URL policy', async () => {
      await expectProblem(
        await links.patch(link.code, { url: `${BASE}/loop` }),
        400,
        'URL_NOT_ALLOWED',
      );
      await expectProblem(
        await links.patch(link.code, { url: 'ftp://example.com' }),
        400,
        'URL_NOT_ALLOWED',
      );
    });

    it('refuses a body that is not an object or not JSON', async () => {
      await expectProblem(await links.patch(link.code, '[]'), 400, 'VALIDATION_FAILED');
      await expectProblem(await links.patch(link.code, '{"disabled":'), 400, 'MALFORMED_JSON');
    });

    it('answers 404 LINK_NOT_FOUND for an unknown code', async () => {
      await expectProblem(
        await links.patch('unknown-x', { disabled: true }),
        404,
        'LINK_NOT_FOUND',
      );
    });
  });

  describe('DELETE', () => {
    it('deletes for good: 204, then 404 for GET, redirect, PATCH and DELETE', async () => {
      const link = await links.create({ url: 'https://example.com/gone' });
      const res = await links.delete(link.code);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');

      await expectProblem(await links.get(link.code), 404, 'LINK_NOT_FOUND');
      await expectProblem(await links.redirect(`/${link.code}`), 404, 'LINK_NOT_FOUND');
      await expectProblem(await links.patch(link.code, { disabled: false }), 404, 'LINK_NOT_FOUND');
      await expectProblem(await links.delete(link.code), 404, 'LINK_NOT_FOUND');
      const page = (await (await links.list('?limit=100')).json()) as { items: LinkBody[] };
      expect(page.items.map((l) => l.code)).not.toContain(link.code);
    });

    it('never hands a deleted alias out again: re-creating it is 409 ALIAS_TAKEN', async () => {
      await links.create({ url: 'https://example.com/old', alias: 'once-only' });
      expect((await links.delete('once-only')).status).toBe(204);
      await expectProblem(
        await links.post({ url: 'https://example.com/new', alias: 'once-only' }),
        409,
        'ALIAS_TAKEN',
      );
      await expectProblem(await links.redirect('/once-only'), 404, 'LINK_NOT_FOUND');
    });

    it('answers 404 LINK_NOT_FOUND for an unknown code', async () => {
      await expectProblem(await links.delete('never-was'), 404, 'LINK_NOT_FOUND');
    });
  });
});

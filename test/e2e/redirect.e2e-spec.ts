import { query } from '../support/database';
import { expectProblem, LinksClient } from '../support/http';
import { useTestApi } from '../support/suite';

/** Reads one sample of a counter or histogram series from a Prometheus text exposition. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('redirect (GET and HEAD /:code)', () => {
  const { db, api } = useTestApi({ env: { PUBLIC_BASE_URL: 'https://sn.ip' } });
  let links: LinksClient;
  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  it.each([301, 302, 307, 308])(
    'answers GET with the link redirect type %i, Location and Cache-Control',
    async (redirectType) => {
      const link = await links.create({ url: 'https://example.com/landing', redirectType });
      const res = await links.redirect(`/${link.code}`);
      expect(res.status).toBe(redirectType);
      expect(res.headers.get('location')).toBe('https://example.com/landing');
      expect(res.headers.get('cache-control')).toBe('private, max-age=0');
      expect(await res.text()).toBe('');
    },
  );

  it('answers HEAD like GET, without a body', async () => {
    const link = await links.create({ url: 'https://example.com/head', redirectType: 307 });
    const res = await links.redirect(`/${link.code}?a=1`, { method: 'HEAD' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('https://example.com/head?a=1');
    expect(res.headers.get('cache-control')).toBe('private, max-age=0');
    expect(await res.text()).toBe('');
  });

  it('answers an alias like a generated code', async () => {
    await links.create({ url: 'https://example.com/alias', alias: 'Promo_2030' });
    const res = await links.redirect('/Promo_2030');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/alias');
    await expectProblem(await links.redirect('/promo_2030'), 404, 'LINK_NOT_FOUND');
  });

  describe('query forwarding (on by default)', () => {
    it('adds the request query to a target without one', async () => {
      const link = await links.create({ url: 'https://example.com/q' });
      const res = await links.redirect(`/${link.code}?utm_source=mail&utm_medium=email`);
      expect(res.headers.get('location')).toBe(
        'https://example.com/q?utm_source=mail&utm_medium=email',
      );
    });

    it('appends to the target query and keeps its fragment', async () => {
      const link = await links.create({ url: 'https://example.com/q?ref=snip#top' });
      const res = await links.redirect(`/${link.code}?utm_source=mail`);
      expect(res.headers.get('location')).toBe(
        'https://example.com/q?ref=snip&utm_source=mail#top',
      );
    });

    it('lets a repeated parameter replace the target value', async () => {
      const link = await links.create({ url: 'https://example.com/q?ref=snip&x=1' });
      const location = (await links.redirect(`/${link.code}?ref=mail`)).headers.get('location');
      const url = new URL(location!);
      expect(url.origin + url.pathname).toBe('https://example.com/q');
      expect(url.searchParams.getAll('ref')).toEqual(['mail']);
      expect(url.searchParams.get('x')).toBe('1');
    });

    it('leaves the target untouched without a request query', async () => {
      const link = await links.create({ url: 'https://example.com/q?ref=snip' });
      expect((await links.redirect(`/${link.code}`)).headers.get('location')).toBe(
        'https://example.com/q?ref=snip',
      );
      expect((await links.redirect(`/${link.code}?`)).headers.get('location')).toBe(
        'https://example.com/q?ref=snip',
      );
    });
  });

  describe('errors', () => {
    it('answers an unknown code with 404 problem+json and no-store', async () => {
      const res = await links.redirect('/unknownCode');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const problem = await expectProblem(res, 404, 'LINK_NOT_FOUND');
      expect(problem.instance).toBe('/unknownCode');
    });

    it('answers a HEAD for an unknown code with 404 and no body', async () => {
      const res = await links.redirect('/unknownCode', { method: 'HEAD' });
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    });

    it('gives browsers a small HTML page instead, for 404', async () => {
      const res = await links.redirect('/unknownCode', {
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).toContain('Link not found');
      expect(html).toContain('unknownCode');
    });

    it('answers a disabled link with 410, as problem+json or HTML', async () => {
      const link = await links.create({ url: 'https://example.com/off' });
      await links.patch(link.code, { disabled: true });
      const res = await links.redirect(`/${link.code}`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('location')).toBeNull();
      const problem = await expectProblem(res, 410, 'LINK_GONE');
      expect(problem.reason).toBe('disabled');

      const html = await links.redirect(`/${link.code}`, { headers: { accept: 'text/html' } });
      expect(html.status).toBe(410);
      expect(html.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await html.text()).toContain('disabled');
    });

    it('answers an expired link with 410, as problem+json or HTML', async () => {
      // The API refuses an expiry in the past, so the link is written straight to the database,
      // as if it had been created long ago (and never looked up, so no cache holds it).
      await query(
        db.url,
        `INSERT INTO links (id, code, url, is_custom, redirect_type, expires_at, created_at, updated_at)
         VALUES (nextval('link_id_seq'), 'expired-1', 'https://example.com/old', true, 302,
                 now() - interval '1 second', now() - interval '1 day', now() - interval '1 day')`,
      );
      const problem = await expectProblem(await links.redirect('/expired-1'), 410, 'LINK_GONE');
      expect(problem.reason).toBe('expired');
      const html = await links.redirect('/expired-1', { headers: { accept: 'text/html' } });
      expect(html.status).toBe(410);
      expect(html.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await html.text()).toContain('expired');
      // Still there for its owner.
      const owner = await links.get('expired-1');
      expect(owner.status).toBe(200);
      expect(((await owner.json()) as { expiresAt: string }).expiresAt).not.toBeNull();
    });

    it('answers a code that cannot exist with 404', async () => {
      await expectProblem(await links.redirect('/a.b'), 404, 'LINK_NOT_FOUND');
      await expectProblem(await links.redirect('/%F0%9F%98%80'), 404, 'LINK_NOT_FOUND');
    });
  });

  it('counts redirects by outcome and times them by route template, never by code', async () => {
    const before = await (await fetch(`${api.url}/metrics`)).text();
    const ok = await links.create({ url: 'https://example.com/m' });
    const off = await links.create({ url: 'https://example.com/m-off' });
    await links.patch(off.code, { disabled: true });
    await links.redirect(`/${ok.code}`);
    await links.redirect(`/${ok.code}`, { method: 'HEAD' });
    await links.redirect(`/${off.code}`);
    await links.redirect('/missingCode1');

    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const after = await res.text();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('snip_redirects_total{outcome="redirected"}')).toBe(2);
    expect(delta('snip_redirects_total{outcome="disabled"}')).toBe(1);
    expect(delta('snip_redirects_total{outcome="not_found"}')).toBe(1);

    expect(after).toContain('# TYPE http_request_duration_seconds histogram');
    expect(
      delta('http_request_duration_seconds_count{method="GET",route="/:code",status_code="302"}'),
    ).toBe(1);
    expect(
      delta('http_request_duration_seconds_count{method="HEAD",route="/:code",status_code="302"}'),
    ).toBe(1);
    expect(
      delta('http_request_duration_seconds_count{method="GET",route="/:code",status_code="404"}'),
    ).toBe(1);
    expect(
      delta(
        'http_request_duration_seconds_count{method="PATCH",route="/api/v1/links/:code",status_code="200"}',
      ),
    ).toBe(1);
    // Neither codes nor raw paths become label values.
    for (const code of [ok.code, off.code, 'missingCode1']) expect(after).not.toContain(code);
    expect(after).not.toMatch(/route="\/api\/v1\/links\/[^:]/);
    // Default process metrics are there too.
    expect(after).toContain('process_cpu_user_seconds_total');
    expect(after).toContain('nodejs_heap_size_total_bytes');
  });
});

describe('redirect with REDIRECT_FORWARD_QUERY=false and a permanent max-age', () => {
  const { api } = useTestApi({
    env: {
      REDIRECT_FORWARD_QUERY: 'false',
      REDIRECT_PERMANENT_MAX_AGE: '3600',
      HTTP_BODY_LIMIT_BYTES: '2048',
    },
  });
  let links: LinksClient;
  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  it('redirects to the stored URL exactly, whatever the request query', async () => {
    const link = await links.create({ url: 'https://example.com/q?ref=snip' });
    const res = await links.redirect(`/${link.code}?ref=mail&utm_source=x`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/q?ref=snip');
  });

  it('lets browsers cache permanent redirects for the configured time, never temporary ones', async () => {
    for (const [redirectType, cacheControl] of [
      [301, 'private, max-age=3600'],
      [308, 'private, max-age=3600'],
      [302, 'private, max-age=0'],
      [307, 'private, max-age=0'],
    ] as const) {
      const link = await links.create({ url: 'https://example.com/c', redirectType });
      const res = await links.redirect(`/${link.code}`);
      expect({ redirectType, cacheControl: res.headers.get('cache-control') }).toEqual({
        redirectType,
        cacheControl,
      });
    }
  });

  it('applies the configured HTTP_BODY_LIMIT_BYTES', async () => {
    const body = (size: number) =>
      JSON.stringify({ url: `https://example.com/${'a'.repeat(size - 30)}` });
    expect(Buffer.byteLength(body(2049))).toBe(2049);
    await expectProblem(await links.post(body(2049)), 413, 'PAYLOAD_TOO_LARGE');
    expect((await links.post(body(2048))).status).toBe(201);
  });
});

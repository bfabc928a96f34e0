import { createTestDatabase, type TestDatabase } from '../support/database';
import { api, uniquePrefix, visit } from '../support/metrics';
import { runCli, spawnApi, type SpawnedApi } from '../support/process';
import { REDIS_URL } from '../support/services';

const expectRateLimited = (res: { status: number; headers: Headers }): void => {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
  expect(res.headers.get('ratelimit-limit')).not.toBeNull();
  expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
};

/** Two api processes on one database and one Redis: one limit between them. */
describe('rate limits shared by instances', () => {
  let db: TestDatabase;
  let a: SpawnedApi;
  let b: SpawnedApi;
  let proxied: SpawnedApi;
  let code = '';
  const prefix = uniquePrefix('throttle');
  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    RATE_LIMIT_API_PER_MIN: '10',
    RATE_LIMIT_IP_PER_MIN: '6',
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await spawnApi({ env: env() });
    b = await spawnApi({ env: env({ REDIRECT_RATE_LIMIT_PER_MIN: '4' }) });
    // Believes X-Forwarded-For from loopback, as behind a local reverse proxy. Own prefix: own counters.
    proxied = await spawnApi({
      env: env({
        REDIS_KEY_PREFIX: uniquePrefix('throttle-proxy'),
        TRUSTED_PROXIES: '127.0.0.1/32,::1',
      }),
    });
    const created = await api(a.url, 'POST', '/api/v1/links', {
      body: { url: 'https://example.com/limited' },
    });
    expect(created.status).toBe(201);
    code = created.body.code as string;
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxied?.stop();
    await db?.drop();
  });

  it('counts one key’s requests on both instances against one limit', async () => {
    const cli = await runCli(['api-key:create', '--name', 'limited', '--role', 'user'], {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    const { key } = JSON.parse(cli.output.trim().split('\n').pop()!) as { key: string };
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await api(i % 2 ? b.url : a.url, 'GET', '/api/v1/links', { key });
      statuses.push(res.status);
      expect(res.headers.get('ratelimit-limit')).toBe('10');
      expect(res.headers.get('ratelimit-remaining')).toBe(String(9 - i));
    }
    expect(statuses).toEqual(Array(10).fill(200));
    const limited = await api(a.url, 'GET', '/api/v1/links', { key });
    expectRateLimited(limited);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expectRateLimited(await api(b.url, 'GET', '/api/v1/links', { key }));
  }, 60_000);

  it('limits requests without a key per client IP, and a spoofed X-Forwarded-For buys nothing', async () => {
    let allowed = 0;
    for (let i = 0; i < 12; i++) {
      const res = await api(i % 2 ? b.url : a.url, 'GET', '/api/v1/links', {
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
      if (res.status === 200) allowed++;
      else expectRateLimited(res);
    }
    // 6 a minute for 127.0.0.1, whatever the header says; one went on creating the link above.
    expect(allowed).toBe(5);
  });

  it('believes X-Forwarded-For from a trusted proxy', async () => {
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        statuses.push(
          (
            await api(proxied.url, 'GET', '/api/v1/links', {
              headers: { 'x-forwarded-for': client },
            })
          ).status,
        );
      }
      // Each client has a budget of its own.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    }
  });

  it('counts an IPv6 client by its /64: new addresses in it buy nothing, the next /64 has its own', async () => {
    const status = async (client: string): Promise<number> =>
      (
        await api(proxied.url, 'GET', '/api/v1/links', {
          headers: { 'x-forwarded-for': client },
        })
      ).status;
    const walked: number[] = [];
    for (let i = 1; i <= 7; i++) walked.push(await status(`2001:db8:7:1::${i.toString(16)}`));
    // Seven addresses of one /64 share its six requests a minute.
    expect(walked).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect(await status('2001:db8:7:1:ffff:ffff:ffff:ffff')).toBe(429);
    expect(await status('2001:db8:7:2::1')).toBe(200);
  });

  it('leaves redirects unlimited by default and limits them per IP when configured', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await visit(a.url, code);
      expect(res.status).toBe(302);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await visit(b.url, code)).status);
    expect(statuses).toEqual([302, 302, 302, 302, 429]);
    expectRateLimited(await visit(b.url, code));
  });
});

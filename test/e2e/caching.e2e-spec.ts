import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { api, metric, uniquePrefix, visit } from '../support/metrics';
import { spawnApi, type SpawnedApi } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

/**
 * Two api processes on one database and one Redis. L1 lives 10 minutes here, so that only the
 * cross-instance eviction, never an expiry, can explain an instance seeing a change.
 */
describe('two-tier link cache across instances', () => {
  let db: TestDatabase;
  let a: SpawnedApi;
  let b: SpawnedApi;
  const prefix = uniquePrefix('cache');
  const env = () => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CACHE_L1_TTL_MS: '600000',
    CACHE_NEGATIVE_TTL_MS: '600000',
  });
  const primaryReads = async (url: string) =>
    (await metric(url, 'snip_cache_lookups_total', { tier: 'primary', result: 'hit' })) +
    (await metric(url, 'snip_cache_lookups_total', { tier: 'primary', result: 'miss' }));

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await spawnApi({ env: env() });
    b = await spawnApi({ env: env() });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  const create = async (body: Record<string, unknown>) => {
    const res = await api(a.url, 'POST', '/api/v1/links', { body });
    expect(res.status).toBe(201);
    return res.body as { code: string };
  };

  it('writes through on create: the other instance answers from L2, not the database', async () => {
    const { code } = await create({ url: 'https://example.com/written-through' });
    const before = await primaryReads(b.url);
    const res = await visit(b.url, code);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/written-through');
    expect(await primaryReads(b.url)).toBe(before);
  });

  it('evicts every instance’s L1 on update, disable and delete', async () => {
    const { code } = await create({ url: 'https://example.com/v1' });
    // B now holds the link in L1 (for 10 minutes unless evicted).
    expect((await visit(b.url, code)).headers.get('location')).toBe('https://example.com/v1');
    expect((await visit(b.url, code)).headers.get('location')).toBe('https://example.com/v1');

    expect(
      (
        await api(a.url, 'PATCH', `/api/v1/links/${code}`, {
          body: { url: 'https://example.com/v2' },
        })
      ).status,
    ).toBe(200);
    expect(
      await eventually(
        async () => (await visit(b.url, code)).headers.get('location') === 'https://example.com/v2',
      ),
    ).toBe(true);

    await api(a.url, 'PATCH', `/api/v1/links/${code}`, { body: { disabled: true } });
    expect(await eventually(async () => (await visit(b.url, code)).status === 410)).toBe(true);

    await api(a.url, 'PATCH', `/api/v1/links/${code}`, { body: { disabled: false } });
    expect(await eventually(async () => (await visit(b.url, code)).status === 302)).toBe(true);

    expect((await api(a.url, 'DELETE', `/api/v1/links/${code}`)).status).toBe(204);
    expect(await eventually(async () => (await visit(b.url, code)).status === 404)).toBe(true);
    // And a third reader, with an empty L1, finds the deletion in L2 too.
    expect((await visit(a.url, code)).status).toBe(404);
  });

  it('reads the database once per unknown code per TTL, whichever instance is scanned', async () => {
    const codes = Array.from({ length: 40 }, (_, i) => `scan-${Date.now().toString(36)}-${i}`);
    const beforeA = await primaryReads(a.url);
    const beforeB = await primaryReads(b.url);
    for (let round = 0; round < 3; round++) {
      for (const code of codes) expect((await visit(a.url, code)).status).toBe(404);
    }
    expect((await primaryReads(a.url)) - beforeA).toBe(codes.length);
    // B meets them in L2 as known-missing.
    for (const code of codes) expect((await visit(b.url, code)).status).toBe(404);
    expect((await primaryReads(b.url)) - beforeB).toBe(0);
  });

  it('stops answering 404 for a scanned alias once it is created', async () => {
    const alias = `later-${Date.now().toString(36)}`;
    expect((await visit(b.url, alias)).status).toBe(404);
    await create({ url: 'https://example.com/later', alias });
    expect(await eventually(async () => (await visit(b.url, alias)).status === 302)).toBe(true);
  });

  it('coalesces concurrent misses on one code into one database read', async () => {
    // Written straight to the database: no cache tier knows it.
    const code = `cold-${Date.now().toString(36)}`;
    await query(
      db.url,
      `INSERT INTO links (id, code, url, is_custom, created_at, updated_at)
       VALUES (nextval('link_id_seq'), $1, 'https://example.com/cold', true, now(), now())`,
      [code],
    );
    const before = await primaryReads(b.url);
    const answers = await Promise.all(Array.from({ length: 50 }, () => visit(b.url, code)));
    expect(answers.map((res) => res.status)).toEqual(Array(50).fill(302));
    expect((await primaryReads(b.url)) - before).toBe(1);
  });
});

describe('link cache without Redis', () => {
  const { api: solo } = useTestApi({ setupTimeoutMs: 120_000 });

  it('serves from L1 alone and stays consistent with its own writes', async () => {
    const created = await api(solo.url, 'POST', '/api/v1/links', {
      body: { url: 'https://example.com/solo' },
    });
    const code = (created.body as { code: string }).code;
    expect((await visit(solo.url, code)).status).toBe(302);
    expect((await visit(solo.url, code)).status).toBe(302);
    expect(
      await metric(solo.url, 'snip_cache_lookups_total', { tier: 'l1', result: 'hit' }),
    ).toBeGreaterThanOrEqual(2);
    expect(await metric(solo.url, 'snip_cache_lookups_total', { tier: 'l2', result: 'miss' })).toBe(
      0,
    );
    await api(solo.url, 'PATCH', `/api/v1/links/${code}`, {
      body: { url: 'https://example.com/solo-2' },
    });
    expect((await visit(solo.url, code)).headers.get('location')).toBe(
      'https://example.com/solo-2',
    );
  });
});

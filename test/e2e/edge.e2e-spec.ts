import { Redis } from 'ioredis';
import {
  exactlyOnce,
  fireRedirects,
  OwnRedis,
  pairs,
  storedIndexes,
  uniqueName,
} from '../support/clicks';
import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { LinksClient } from '../support/http';
import { metric } from '../support/metrics';
import {
  spawnApi,
  spawnEdge,
  spawnLogs,
  type SpawnedApi,
  type SpawnedEdge,
  type SpawnedLogs,
} from '../support/process';
import { RABBITMQ_URL, REDIS_URL, removeRedisKeys } from '../support/services';

/**
 * The edge redirector (apps/edge) in front of one api, on real PostgreSQL, Redis and a click
 * broker: hits answered from the api's cache entries, misses and REST forwarded, invalidation,
 * clicks exactly once whoever answered, caps shared with the api, the api down. Runs the built
 * apps (`npm run build` first).
 */
jest.setTimeout(180_000);
const LAND_MS = 90_000;

type Transport = 'redis-streams' | 'rmq';

describe.each<Transport>(['redis-streams', 'rmq'])('the edge, clicks over %s', (transport) => {
  const prefix = `${uniqueName('snip-edge')}:`;
  const stream = uniqueName('clicks');
  const queue = uniqueName('clicks');
  let db: TestDatabase;
  let api: SpawnedApi;
  let worker: SpawnedLogs;
  let edge: SpawnedEdge;
  let redis: Redis;

  const env = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CLICKS_TRANSPORT: transport,
    ...(transport === 'redis-streams'
      ? { CLICKS_STREAM: stream, CLICKS_DEAD_LETTER_STREAM: `${stream}:dead` }
      : { RABBITMQ_URL, CLICKS_QUEUE: queue, CLICKS_DEAD_LETTER_QUEUE: `${queue}.dead` }),
    CLICKS_BATCH_INTERVAL_MS: '100',
    CLICKS_PUBLISH_INTERVAL_MS: '20',
    CLICKS_IP_MODE: 'raw',
    // The edge is the api's proxy: its X-Forwarded-For is believed.
    TRUSTED_PROXIES: '127.0.0.1',
    RATE_LIMIT_EXEMPT_LOOPBACK: 'true',
    SHUTDOWN_GRACE_MS: '15000',
  });
  const cacheKey = (code: string): string => `${prefix}cache:link:${code}`;
  const get = (base: string, code: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/${code}`, { redirect: 'manual', headers });

  beforeAll(async () => {
    db = await createTestDatabase('snip_edge');
    api = await spawnApi({ env: env() });
    worker = await spawnLogs(env());
    edge = await spawnEdge({ ...env(), EDGE_UPSTREAM_URL: api.url });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  }, 120_000);

  afterAll(async () => {
    await edge?.stop();
    await api?.stop();
    await worker?.stop();
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(stream, `${stream}:dead`);
    } finally {
      redis.disconnect();
    }
    await db?.drop();
  });

  it('serves REST through the edge, and redirects a link it created from the cache', async () => {
    const created = await new LinksClient(edge.url).create({ url: 'https://example.com/edge' });
    const forwardsBefore = await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' });
    const res = await get(edge.url, `${created.code}?utm=1`, { 'x-request-id': 'edge-hit-1' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/edge?utm=1');
    expect(res.headers.get('cache-control')).toBe('private, max-age=0');
    expect(res.headers.get('x-request-id')).toBe('edge-hit-1');
    // Written through to L2 by the api on create: no forward.
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' })).toBe(
      forwardsBefore,
    );
    const rest = await fetch(`${edge.url}/api/v1/links/${created.code}`, {
      headers: { 'x-request-id': 'edge-rest-1' },
    });
    expect(rest.status).toBe(200);
    expect(rest.headers.get('x-request-id')).toBe('edge-rest-1');
    expect(((await rest.json()) as { code: string }).code).toBe(created.code);
  });

  it("forwards the api's own one-segment routes as routes, never as code misses", async () => {
    const misses = await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' });
    const routes = await metric(edge.url, 'snip_edge_forwards_total', { reason: 'route' });
    const docs = await fetch(`${edge.url}/docs-json`);
    expect(docs.status).toBe(200);
    expect(((await docs.json()) as { openapi?: string }).openapi).toMatch(/^3\./);
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' })).toBe(misses);
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'route' })).toBe(
      routes + 1,
    );
  });

  it('forwards a miss to the api, then serves the code from L2', async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/miss' });
    await redis.del(cacheKey(code));
    const misses = await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' });
    expect((await get(edge.url, code)).status).toBe(302);
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' })).toBe(misses + 1);
    // The api refills L2 once its own L1 entry has expired (CACHE_L1_TTL_MS): meanwhile every
    // visit is forwarded, and answered by the api.
    await eventually(
      async () =>
        (await get(edge.url, code)).status === 302 && (await redis.exists(cacheKey(code))) === 1,
      { timeoutMs: 15_000, intervalMs: 250, what: 'the api to refill L2' },
    );
    const forwarded = await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' });
    expect(forwarded).toBeGreaterThan(misses);
    expect((await get(edge.url, code)).status).toBe(302);
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' })).toBe(forwarded);
    // An unknown code: the api answers 404 and caches it; then the edge answers 404 itself.
    const unknown = uniqueName('nope').replace(/[^A-Za-z0-9]/g, '');
    const first = await get(edge.url, unknown);
    expect(first.status).toBe(404);
    await eventually(async () => (await redis.exists(cacheKey(unknown))) === 1);
    const second = await get(edge.url, unknown);
    expect(second.status).toBe(404);
    expect(second.headers.get('content-type')).toContain('application/problem+json');
    expect(((await second.json()) as { code: string }).code).toBe('LINK_NOT_FOUND');
    expect(await metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss' })).toBe(
      forwarded + 1,
    );
  });

  it('answers 410 within a second of the link being disabled on the api', async () => {
    const links = new LinksClient(api.url);
    const { code } = await links.create({ url: 'https://example.com/disable' });
    expect((await get(edge.url, code)).status).toBe(302);
    expect((await get(edge.url, code)).status).toBe(302);
    expect((await links.patch(code, { disabled: true })).status).toBe(200);
    const gone = await eventually(
      () => get(edge.url, code),
      (res) => res.status === 410,
      {
        timeoutMs: 1000,
        what: 'the edge to answer 410',
      },
    );
    expect(((await gone.json()) as { code: string }).code).toBe('LINK_GONE');
    const page = await get(edge.url, code, { accept: 'text/html' });
    expect(page.status).toBe(410);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('records every click once, hits on the edge and forwarded misses alike, with the client address', async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/clicks' });
    const n = 300;
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 3; batch++) {
      // Each batch starts with the code missing from L2 (and L1 expired or not: both paths run).
      await redis.del(cacheKey(code));
      const fired = await fireRedirects(edge.url, code, 100, {
        tag: 'edge',
        start: batch * 100,
        concurrency: 16,
      });
      for (const [status, count] of fired)
        statuses.set(status, (statuses.get(status) ?? 0) + count);
    }
    expect(statuses.get(302)).toBe(n);
    // One forwarded request from a client behind a proxy the edge trusts.
    const tagged = await new LinksClient(api.url).create({ url: 'https://example.com/ip' });
    await redis.del(cacheKey(tagged.code));
    expect((await get(edge.url, tagged.code, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(
      302,
    );
    expect((await get(edge.url, tagged.code, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(
      302,
    );
    const indexes = await eventually(
      () => storedIndexes(db.url, code, 'edge'),
      (found) => found.length >= n,
      { timeoutMs: LAND_MS, what: 'every click to be stored' },
    );
    expect(exactlyOnce(indexes, n)).toBeNull();
    const ips = await eventually(
      () =>
        query<{ ip: string }>(
          db.url,
          `SELECT c.ip FROM clicks c JOIN links l ON l.id = c.link_id WHERE l.code = $1 ORDER BY c.ip`,
          [tagged.code],
        ),
      (rows) => rows.length >= 2,
      { timeoutMs: LAND_MS },
    );
    expect(ips.map((row) => row.ip)).toEqual(['198.51.100.9', '203.0.113.7']);
    if (transport === 'redis-streams') {
      const info = pairs((await redis.xinfo('STREAM', `${prefix}${stream}`)) as unknown[]);
      expect(Number(info.get('length'))).toBeGreaterThanOrEqual(n + 2);
    }
  });

  it('enforces maxClicks exactly across the edge and the api together', async () => {
    const { code } = await new LinksClient(api.url).create({
      url: 'https://example.com/capped',
      maxClicks: 20,
    });
    const [viaEdge, viaApi] = await Promise.all([
      fireRedirects(edge.url, code, 100, { tag: 'cap-edge', concurrency: 16 }),
      fireRedirects(api.url, code, 100, { tag: 'cap-api', start: 100, concurrency: 16 }),
    ]);
    const count = (status: number) => (viaEdge.get(status) ?? 0) + (viaApi.get(status) ?? 0);
    expect(count(302)).toBe(20);
    expect(count(410)).toBe(180);
  });

  it('keeps answering hits with the api down, and answers misses 503 at once', async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/alone' });
    expect((await get(edge.url, code)).status).toBe(302);
    await api.stop();
    expect((await get(edge.url, code)).status).toBe(302);
    const started = performance.now();
    const miss = await get(edge.url, 'neverSeenCode1');
    expect(miss.status).toBe(503);
    expect(miss.headers.get('retry-after')).toBe('1');
    expect(((await miss.json()) as { code: string }).code).toBe('UPSTREAM_UNAVAILABLE');
    const rest = await fetch(`${edge.url}/api/v1/links`);
    expect(rest.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await fetch(`${edge.url}/health/ready`)).status).toBe(200);
  });
});

describe('the edge with Redis down', () => {
  const own = new OwnRedis();
  const stream = uniqueName('clicks');
  let db: TestDatabase;
  let api: SpawnedApi;
  let edge: SpawnedEdge;

  beforeAll(async () => {
    await own.start();
    db = await createTestDatabase('snip_edge_down');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: own.url,
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_STREAM: stream,
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_EXEMPT_LOOPBACK: 'true',
      REDIS_COMMAND_TIMEOUT_MS: '200',
    };
    api = await spawnApi({ env });
    edge = await spawnEdge({ ...env, EDGE_UPSTREAM_URL: api.url });
  }, 120_000);

  afterAll(async () => {
    await edge?.stop();
    await api?.stop();
    await own.destroy();
    await db?.drop();
  });

  it('forwards every redirect to the api, which keeps them working', async () => {
    const { code } = await new LinksClient(edge.url).create({ url: 'https://example.com/down' });
    expect((await fetch(`${edge.url}/${code}`, { redirect: 'manual' })).status).toBe(302);
    await own.kill();
    const res = await eventually(
      () => fetch(`${edge.url}/${code}`, { redirect: 'manual' }),
      (answer) => answer.status === 302,
      { what: 'the redirect through the edge with Redis down' },
    );
    expect(res.headers.get('location')).toBe('https://example.com/down');
    expect(await metric(edge.url, 'snip_edge_redis_down_total')).toBeGreaterThan(0);
    expect(
      await metric(edge.url, 'snip_edge_forwards_total', { reason: 'redis_down' }),
    ).toBeGreaterThan(0);
    // Ready: the api still answers for it.
    expect((await fetch(`${edge.url}/health/ready`)).status).toBe(200);
  });

  it('exits 0 on SIGTERM, clicks buffered for a Redis that is gone notwithstanding', async () => {
    const code = await edge.stop();
    // The edge's last lines, should it not exit 0.
    expect({ code, output: code === 0 ? [] : edge.output.slice(-15) }).toEqual({
      code: 0,
      output: [],
    });
  });
});

describe('the edge and the api under one redirect limit', () => {
  const prefix = `${uniqueName('snip-edge-limit')}:`;
  let db: TestDatabase;
  let api: SpawnedApi;
  let edge: SpawnedEdge;

  beforeAll(async () => {
    db = await createTestDatabase('snip_edge_limit');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_STREAM: uniqueName('clicks'),
      TRUSTED_PROXIES: '127.0.0.1',
      REDIRECT_RATE_LIMIT_PER_MIN: '5',
      RATE_LIMIT_EXEMPT_LOOPBACK: 'false',
    };
    api = await spawnApi({ env });
    edge = await spawnEdge({ ...env, EDGE_UPSTREAM_URL: api.url });
  }, 120_000);

  afterAll(async () => {
    await edge?.stop();
    await api?.stop();
    await removeRedisKeys(prefix);
    await db?.drop();
  });

  it('counts redirects answered by either against the same per-IP limit, each once', async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/limit' });
    // The api wrote the link to L2 on create. Taken out, the edge's first look-up misses and is
    // forwarded: counted by the api alone, as the edge counts only after a look-up that it answers.
    // Put back, the edge's later look-ups hit and are counted by the edge.
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const key = `${prefix}cache:link:${code}`;
    const relayedMisses = () =>
      metric(edge.url, 'snip_edge_forwards_total', { reason: 'miss', outcome: 'relayed' });
    const statuses: number[] = [];
    const visitVia = async (base: string) => {
      const res = await fetch(`${base}/${code}`, { redirect: 'manual' });
      statuses.push(res.status);
      await res.arrayBuffer();
    };
    try {
      await eventually(async () => (await redis.exists(key)) === 1);
      const entry = await redis.dumpBuffer(key);
      if (!entry) throw new Error(`${key} vanished`);
      await redis.del(key);
      const forwardedBefore = await relayedMisses();
      await visitVia(edge.url);
      expect((await relayedMisses()) - forwardedBefore).toBe(1);
      await redis.restore(key, 0, entry, 'REPLACE');
      for (let i = 1; i < 8; i++) await visitVia(i % 2 === 0 ? edge.url : api.url);
      expect((await relayedMisses()) - forwardedBefore).toBe(1);
    } finally {
      redis.disconnect();
    }
    expect(statuses).toEqual([302, 302, 302, 302, 302, 429, 429, 429]);
  });
});

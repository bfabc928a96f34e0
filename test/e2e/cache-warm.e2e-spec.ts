import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { query } from '../support/database';
import { eventually } from '../support/eventually';
import { expectProblem, type LinkBody } from '../support/http';
import { api as call, metric, visit } from '../support/metrics';
import { freePort } from '../support/ports';
import { runCli, spawnApi, spawnEdge, type SpawnedApi } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

/**
 * The cache warm-up on the built api: POST /api/v1/cache/warm (admin only, validated, described
 * by the OpenAPI document), `cache:warm` on the command line, the warm message reaching another
 * instance's L1, and CACHE_WARM_ON_BOOT_TOP: an api whose L1 holds the top codes when it listens.
 */
describe('cache warm-up', () => {
  const prefix = `snip-e2e-warm-${randomBytes(4).toString('hex')}:`;
  const env = {
    AUTH_REQUIRED: 'true',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    // Long enough that a warmed L1 entry is still there when the test looks.
    CACHE_L1_TTL_MS: '600000',
  };
  const { db, api } = useTestApi({ env });
  const folder = mkdtempSync(join(tmpdir(), 'snip-warm-'));
  let redis: Redis;
  let admin: string;
  let user: string;
  const codes: string[] = [];
  const spawned: SpawnedApi[] = [];
  const l1Hits = (base: string) =>
    metric(base, 'snip_cache_lookups_total', { tier: 'l1', result: 'hit' });
  const clearL2 = async (): Promise<void> => {
    const keys = await redis.keys(`${prefix}cache:*`);
    if (keys.length > 0) await redis.del(...keys);
  };

  const createKey = async (role: 'admin' | 'user'): Promise<string> => {
    const cli = await runCli(['api-key:create', '--name', role, '--role', role], {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    expect(cli.code).toBe(0);
    return (JSON.parse(cli.output.trim().split('\n').pop()!) as { key: string }).key;
  };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['cache:warm', ...args], { ...env, DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...extra });

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    admin = await createKey('admin');
    user = await createKey('user');
    for (let i = 0; i < 30; i++) {
      const res = await call(api.url, 'POST', '/api/v1/links', {
        key: user,
        body: { url: `https://example.com/warm/${i}` },
      });
      expect(res.status).toBe(201);
      codes.push((res.body as unknown as LinkBody).code);
    }
    // Clicks today: codes[i] has 100 - i, so the first are the hottest.
    await query(
      db.url,
      `INSERT INTO click_daily_rollups (link_id, day, total, human)
       SELECT id, (now() AT TIME ZONE 'UTC')::date, 100 - array_position($1::text[], code::text), 0
         FROM links WHERE code = ANY($1::text[])`,
      [codes],
    );
  }, 120_000);

  afterAll(async () => {
    for (const app of spawned) await app.stop();
    await clearL2();
    redis.disconnect();
    rmSync(folder, { recursive: true, force: true });
  });

  beforeEach(clearL2);

  it('refuses a user key (403) and bad bodies (400 VALIDATION_FAILED)', async () => {
    const warm = (body: unknown, key = admin) =>
      fetch(`${api.url}/api/v1/cache/warm`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await expectProblem(await warm({ top: 5 }, user), 403, 'FORBIDDEN');
    for (const body of [
      {},
      { top: 0 },
      { top: 100_001 },
      { top: 5, all: true },
      { top: 5, since: '24' },
      { top: 5, since: '367d' },
      { codes: ['not a code'] },
      { codes: Array.from({ length: 1001 }, (_, i) => `c${i}`) },
      { codes: ['abc'], since: '1d' },
      { top: 5, limit: 3 },
      { all: true, limit: 1_000_001 },
      { top: 5, extra: true },
    ]) {
      await expectProblem(await warm(body), 400, 'VALIDATION_FAILED');
    }
    expect(await redis.keys(`${prefix}cache:link:*`)).toEqual([]);
  });

  it('warms the top codes on POST /api/v1/cache/warm and describes it in the OpenAPI document', async () => {
    const res = await call(api.url, 'POST', '/api/v1/cache/warm', {
      key: admin,
      body: { top: 10, since: '24h' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ links: 10, written: 10, keptNewer: 0, missing: 0, l1: 0 });
    expect(typeof res.body.durationMs).toBe('number');
    expect(await redis.exists(`${prefix}cache:link:${codes[0]}`)).toBe(1);
    expect(await redis.exists(`${prefix}cache:link:${codes[10]}`)).toBe(0);
    const doc = (await (await fetch(`${api.url}/docs-json`)).json()) as {
      paths: Record<string, object>;
    };
    expect(Object.keys(doc.paths['/api/v1/cache/warm']!)).toEqual(['post']);

    const listed = await call(api.url, 'POST', '/api/v1/cache/warm', {
      key: admin,
      body: { codes: [codes[20], 'none-such'] },
    });
    expect(listed.body).toMatchObject({ links: 1, written: 1, missing: 1 });
  });

  it('has every other instance load the codes into its L1 with { l1: true }', async () => {
    const other = await spawnApi({ env: { ...env, DATABASE_URL: db.url } });
    spawned.push(other);
    const res = await call(api.url, 'POST', '/api/v1/cache/warm', {
      key: admin,
      body: { all: true, limit: 30, l1: true },
    });
    expect(res.body).toMatchObject({ links: 30, written: 30, l1: 30 });
    // Each try visits a code the other instance has not served yet: an L1 hit on it can only
    // come from the warm message.
    let next = 0;
    await eventually(
      async () => {
        const before = await l1Hits(other.url);
        expect((await visit(other.url, codes[next++]!)).status).toBe(302);
        return (await l1Hits(other.url)) - before;
      },
      (hits) => hits === 1,
      { what: 'a warmed code served from the other instance L1' },
    );
    expect(next).toBeLessThan(30);
  }, 60_000);

  it('warms from the command line: npm run cli -- cache:warm', async () => {
    const top = await cli(['--top', '5', '--json']);
    expect(top.code).toBe(0);
    const summary = JSON.parse(top.output.trim().split('\n').pop()!) as Record<string, number>;
    expect(summary).toMatchObject({ links: 5, written: 5, missing: 0 });
    expect(await redis.exists(`${prefix}cache:link:${codes[4]}`)).toBe(1);

    const file = join(folder, 'codes.txt');
    writeFileSync(file, `${codes[25]}\n\nnot a code\nnone-such\n${codes[26]}\n`);
    const listed = await cli(['--codes', file]);
    expect(listed.code).toBe(0);
    expect(listed.output).toContain('not a code, skipped: line 3: not a code');
    expect(listed.output).toMatch(
      /warmed 2 links in \d+ ms: 2 written, 0 kept \(newer in the cache\), 1 unknown or deleted, 1 invalid/,
    );

    const all = await cli(['--all', '--limit', '7', '--json']);
    expect(JSON.parse(all.output.trim().split('\n').pop()!)).toMatchObject({ links: 7 });
  }, 60_000);

  it('explains bad arguments with exit 2 and the usage', async () => {
    for (const args of [
      [],
      ['--top', 'x'],
      ['--top', '5', '--all'],
      ['--codes', join(folder, 'none')],
    ]) {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.output).toContain('usage: npm run cli -- cache:warm');
    }
    const noRedis = await cli(['--top', '5'], { REDIS_URL: '' });
    expect(noRedis.code).toBe(2);
    expect(noRedis.output).toContain('REDIS_URL is unset');
  }, 60_000);

  it('fails with a clear message when Redis cannot be reached', async () => {
    const closed = await freePort();
    const result = await cli(['--top', '5'], {
      REDIS_URL: `redis://127.0.0.1:${closed}`,
      REDIS_CONNECT_TIMEOUT_MS: '200',
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain('The shared cache (Redis) cannot be reached');
  }, 60_000);

  it('CACHE_WARM_ON_BOOT_TOP: the api listens with the top codes in its L1', async () => {
    const booted = await spawnApi({
      env: { ...env, DATABASE_URL: db.url, CACHE_WARM_ON_BOOT_TOP: '5' },
    });
    spawned.push(booted);
    const before = await l1Hits(booted.url);
    // The first redirect of each of the top five on this fresh instance is an L1 hit.
    for (const code of codes.slice(0, 5)) expect((await visit(booted.url, code)).status).toBe(302);
    expect((await l1Hits(booted.url)) - before).toBe(5);
    // The sixth was not warmed: its first redirect misses L1.
    expect((await visit(booted.url, codes[5]!)).status).toBe(302);
    expect((await l1Hits(booted.url)) - before).toBe(5);
  }, 60_000);

  it('CACHE_WARM_ON_BOOT_TOP: an edge listens with the hot set of the last top-N warm-up in its L1', async () => {
    // The edge has no database: it ranks nothing itself, it loads what `cache:warm --top` recorded.
    const top = await cli(['--top', '5', '--json']);
    expect(top.code).toBe(0);
    const stream = `clicks-${randomBytes(4).toString('hex')}`;
    const edge = await spawnEdge({
      ...env,
      EDGE_UPSTREAM_URL: api.url,
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_STREAM: stream,
      CACHE_WARM_ON_BOOT_TOP: '5',
    });
    try {
      const before = await l1Hits(edge.url);
      for (const code of codes.slice(0, 5)) expect((await visit(edge.url, code)).status).toBe(302);
      expect((await l1Hits(edge.url)) - before).toBe(5);
      // The sixth was not in the hot set: its first redirect misses L1.
      expect((await visit(edge.url, codes[5]!)).status).toBe(302);
      expect((await l1Hits(edge.url)) - before).toBe(5);
    } finally {
      await edge.stop();
      await redis.del(`${prefix}${stream}`);
    }
  }, 60_000);
});

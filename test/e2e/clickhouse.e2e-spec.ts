import { Redis } from 'ioredis';
import {
  createLink,
  exactlyOnce,
  fireRedirects,
  pipelineIdle,
  storedClicks,
  uniqueName,
} from '../support/clicks';
import {
  clickHouseEnv,
  testClickHouse,
  TEST_CLICKHOUSE_URL,
  uniqueClickHouseDatabase,
} from '../support/clickhouse';
import { query } from '../support/database';
import { eventually } from '../support/eventually';
import { runCli, spawnLogs, type SpawnedLogs } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The click pipeline with CLICKS_SINK=clickhouse, as built processes (`npm run build` first) on a
 * real PostgreSQL, Redis and ClickHouse: a logs worker SIGKILLed mid-stream leaves its batch to be
 * delivered again, and still every redirect is counted once, in PostgreSQL's receipts and rollups,
 * in ClickHouse and in the api's stats (breakdowns read from ClickHouse).
 */
const N = 3000;
const LAND_MS = 90_000;
jest.setTimeout(180_000);

/** Referrer indexes (i of https://proof.test/<tag>/<i>) of the distinct events ClickHouse holds. */
async function clickHouseIndexes(database: string, linkId: string, tag: string): Promise<number[]> {
  const query = `SELECT referrer FROM \`${database}\`.clicks WHERE link_id = ${Number(linkId)}
                  GROUP BY id, referrer FORMAT JSONEachRow`;
  const response = await fetch(`${TEST_CLICKHOUSE_URL}/?query=${encodeURIComponent(query)}`);
  const text = await response.text();
  const prefix = `https://proof.test/${tag}/`;
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { referrer: string }).referrer)
    .map((r) => (r.startsWith(prefix) ? Number(r.slice(prefix.length)) : -1));
}

describe('click pipeline into ClickHouse over redis-streams', () => {
  const database = uniqueClickHouseDatabase();
  const stream = uniqueName('clicks-ch');
  const env = {
    ...clickHouseEnv(database),
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: REDIS_URL,
    REDIS_KEY_PREFIX: 'snip-test:',
    CLICKS_STREAM: stream,
    CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    CLICKS_BATCH_INTERVAL_MS: '100',
    CLICKS_PUBLISH_INTERVAL_MS: '20',
    CLICKS_CLAIM_IDLE_MS: '1500',
    SHUTDOWN_GRACE_MS: '15000',
  };
  // The api applies ClickHouse's migrations at start (the test profile migrates on boot).
  const { db, api } = useTestApi({ env, databasePrefix: 'snip_clicks_ch', setupTimeoutMs: 90_000 });
  const workers: SpawnedLogs[] = [];
  const worker = async (): Promise<SpawnedLogs> => {
    const spawned = await spawnLogs({ ...env, DATABASE_URL: db.url });
    workers.push(spawned);
    return spawned;
  };
  const clickhouse = testClickHouse(database);

  afterAll(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
    const redis = new Redis(REDIS_URL);
    await redis.del(`snip-test:${stream}`, `snip-test:${stream}:dead`);
    await redis.quit();
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('is not ready while ClickHouse is away, and ready again once it is back', async () => {
    const target = new URL(TEST_CLICKHOUSE_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 8123));
    let logs: SpawnedLogs | undefined;
    const ready = async (): Promise<{ status: number; clickhouse?: string; database?: string }> => {
      const res = await fetch(`${logs!.url}/health/ready`);
      const body = (await res.json()) as { details?: Record<string, { status: string }> };
      return {
        status: res.status,
        clickhouse: body.details?.clickhouse?.status,
        database: body.details?.database?.status,
      };
    };
    try {
      await proxy.open();
      logs = await spawnLogs({
        ...env,
        CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}`,
        DATABASE_URL: db.url,
      });
      expect(await ready()).toEqual({ status: 200, clickhouse: 'up', database: 'up' });
      await proxy.cut();
      expect(
        await eventually(ready, (r) => r.status === 503, {
          timeoutMs: 15_000,
          what: 'readiness to report ClickHouse down',
        }),
      ).toEqual({ status: 503, clickhouse: 'down', database: 'up' });
      await proxy.open();
      await eventually(ready, (r) => r.status === 200 && r.clickhouse === 'up', {
        timeoutMs: 30_000,
        what: 'readiness to report ClickHouse back',
      });
    } finally {
      await logs?.stop('SIGKILL');
      await proxy.cut().catch(() => undefined);
    }
  });

  it('counts every redirect once when the worker is SIGKILLed mid-stream and restarted', async () => {
    const first = await worker();
    const link = await createLink(api.url);
    const firing = fireRedirects(api.url, link.code, N, { tag: 'ch', concurrency: 16 });
    await eventually(
      () => storedClicks(db.url, link.code),
      (s) => s.rows >= 300,
      { timeoutMs: LAND_MS, intervalMs: 50, what: '300 receipts stored' },
    );
    await first.stop('SIGKILL');
    expect((await storedClicks(db.url, link.code)).rows).toBeLessThan(N);
    await worker();
    expect(await firing).toEqual(new Map([[302, N]]));

    await eventually(
      () => storedClicks(db.url, link.code),
      (s) => s.rows >= N,
      { timeoutMs: LAND_MS, intervalMs: 250, what: `${N} receipts stored` },
    );
    await eventually(() => pipelineIdle({ apiUrls: [api.url], stream: `snip-test:${stream}` }), {
      timeoutMs: LAND_MS,
      intervalMs: 250,
      what: 'the api and the stream to hold no more events',
    });

    // PostgreSQL: one receipt per redirect (no referrer kept), rollups and totals exact.
    expect(await storedClicks(db.url, link.code)).toEqual({
      rows: N,
      distinctIds: N,
      distinctReferrers: 0,
      rollupTotal: N,
    });
    // ClickHouse: every redirect's event once among the distinct ids (duplicate rows allowed).
    const [row] = await query<{ id: string }>(
      db.url,
      'SELECT id::text FROM links WHERE code = $1',
      [link.code],
    );
    const linkId = row!.id;
    expect(await clickhouse.storedRows(linkId)).toBeGreaterThanOrEqual(N);
    expect(exactlyOnce(await clickHouseIndexes(database, linkId, 'ch'), N)).toBeNull();
    const today = new Date().toISOString().slice(0, 10);
    const daily = await clickhouse.dailyClicks(linkId, today, today);
    expect(daily.reduce((sum, d) => sum + d.total, 0)).toBe(N);

    // The api's stats: totals from the rollups, breakdowns from ClickHouse, each exactly N.
    const response = await fetch(`${api.url}/api/v1/links/${link.code}/stats?includeBots=true`);
    expect(response.status).toBe(200);
    const stats = (await response.json()) as {
      totals: { clicks: number };
      browsers: { value: string | null; clicks: number }[];
      devices: { value: string | null; clicks: number }[];
    };
    expect(stats.totals.clicks).toBe(N);
    expect(stats.browsers).toEqual([{ value: 'Chrome', clicks: N }]);
    expect(stats.devices).toEqual([{ value: 'desktop', clicks: N }]);
  });
});

describe('npm run cli -- clickhouse:migrate', () => {
  const database = uniqueClickHouseDatabase();
  const clickhouse = testClickHouse(database);
  afterAll(async () => {
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('creates the database and applies the migrations once, whatever CLICKS_SINK says', async () => {
    const env = { CLICKHOUSE_URL: TEST_CLICKHOUSE_URL, CLICKHOUSE_DATABASE: database };
    const first = await runCli(['clickhouse:migrate'], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.output).toContain('ClickHouse migrations applied');
    expect(await clickhouse.pendingMigrations()).toEqual([]);
    const second = await runCli(['clickhouse:migrate'], env);
    expect(second).toMatchObject({ code: 0 });
    expect(second.output).toContain('ClickHouse schema already current');
  });

  it('exits 1 naming the problem when ClickHouse does not answer', async () => {
    const result = await runCli(['clickhouse:migrate'], {
      CLICKHOUSE_URL: 'http://127.0.0.1:1',
      CLICKHOUSE_DATABASE: database,
      CLICKHOUSE_TIMEOUT_MS: '1000',
    });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/ECONNREFUSED|connect/i);
  });
});

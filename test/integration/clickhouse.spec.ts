import {
  AnalyticsModule,
  ClickIngestService,
  ClickRetention,
  ClickHouseSchemaBehindError,
  CLICKHOUSE_MIGRATIONS,
  StatsRepository,
  type BreakdownRow,
  type IngestOutcome,
} from '@app/analytics';
import { ServiceUnavailableException } from '@nestjs/common';
import { createClickEvent, type ClickEvent } from '@app/clicks';
import { createMigratedDatabase, query } from '../support/database';
import { eventually } from '../support/eventually';
import {
  clickHouseEnv,
  testClickHouse,
  TEST_CLICKHOUSE_URL,
  uniqueClickHouseDatabase,
} from '../support/clickhouse';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestingModule, testConfig, useTestingModule } from '../support/testing-module';

/**
 * The ClickHouse click sink (CLICKS_SINK=clickhouse) on a real ClickHouse and a real, migrated
 * PostgreSQL: migrations, the two writes of a batch (wide rows to ClickHouse, receipts and rollups
 * to PostgreSQL), the breakdowns read from ClickHouse, a redelivered batch counted once, and an
 * outage of ClickHouse that delays acknowledgements without losing a click.
 */

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const stored: IngestOutcome = { status: 'stored' };

let nextLink = 9100;
function clicksOf(count: number, at = new Date('2030-05-02T10:00:00.000Z')): ClickEvent[] {
  const link = { id: String(nextLink++), code: 'chsink1' };
  return Array.from({ length: count }, (_, i) =>
    createClickEvent(
      link,
      { method: 'GET', userAgent: FIREFOX, referrer: `https://ref${i % 2}.example/x` },
      '203.0.113.0',
      new Date(at.getTime() + i * 1000),
    ),
  );
}

const sorted = (rows: readonly BreakdownRow[]): BreakdownRow[] =>
  [...rows].sort(
    (a, b) =>
      a.dimension.localeCompare(b.dimension) || String(a.value).localeCompare(String(b.value)),
  );

describe('ClickHouse migrations', () => {
  const database = uniqueClickHouseDatabase();
  const clickhouse = testClickHouse(database);
  afterAll(async () => {
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('lists every migration as pending on a missing database, applies them once, then none', async () => {
    const names = CLICKHOUSE_MIGRATIONS.map((m) => m.name);
    expect(await clickhouse.pendingMigrations()).toEqual(names);
    expect(await clickhouse.migrate()).toEqual(names);
    expect(await clickhouse.pendingMigrations()).toEqual([]);
    expect(await clickhouse.migrate()).toEqual([]);
  });

  it('lets two processes migrate at once (idempotent statements, no lock)', async () => {
    const other = uniqueClickHouseDatabase();
    const [a, b] = [testClickHouse(other), testClickHouse(other)];
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      expect(await a.pendingMigrations()).toEqual([]);
      expect(await b.migrate()).toEqual([]);
    } finally {
      await a.dropDatabase();
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('the ClickHouse sink on a schema that is behind', () => {
  it('refuses to start without DATABASE_MIGRATE_ON_BOOT, naming the pending migrations', async () => {
    const db = await createMigratedDatabase();
    const database = uniqueClickHouseDatabase();
    try {
      const config = testConfig({
        DATABASE_URL: db.url,
        ...clickHouseEnv(database),
        DATABASE_MIGRATE_ON_BOOT: 'false',
      });
      const started = startTestingModule(config, { imports: [AnalyticsModule] });
      await expect(started).rejects.toBeInstanceOf(ClickHouseSchemaBehindError);
      await expect(started).rejects.toMatchObject({
        pending: CLICKHOUSE_MIGRATIONS.map((m) => m.name),
      });
    } finally {
      await db.drop();
    }
  });
});

describe('ClickIngestService with CLICKS_SINK=clickhouse', () => {
  const database = uniqueClickHouseDatabase();
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    {
      env: () => ({
        ...clickHouseEnv(database),
        CLICKS_BATCH_SIZE: '50',
        CLICKS_BATCH_INTERVAL_MS: '20',
      }),
    },
  );
  const clickhouse = testClickHouse(database);
  let ingest: ClickIngestService;
  beforeAll(async () => {
    ingest = suite.module.get(ClickIngestService);
    await ingest.warmUp();
  });
  afterAll(async () => {
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('stores the wide rows in ClickHouse and receipts with the rollups in PostgreSQL', async () => {
    const events = clicksOf(30);
    const linkId = events[0]!.linkId;
    expect(await Promise.all(events.map((e) => ingest.accept(e)))).toEqual(Array(30).fill(stored));

    expect(await clickhouse.storedRows(linkId)).toBe(30);
    const receipts = await query<{ n: string; described: string; device: string }>(
      suite.db.url,
      `SELECT count(*)::text AS n,
              count(*) FILTER (WHERE ip IS NOT NULL OR user_agent IS NOT NULL OR referrer IS NOT NULL
                OR referrer_host IS NOT NULL OR accept_language IS NOT NULL OR country IS NOT NULL
                OR browser IS NOT NULL OR os IS NOT NULL)::text AS described,
              min(device_type) AS device
         FROM clicks WHERE link_id = $1`,
      [linkId],
    );
    expect(receipts).toEqual([{ n: '30', described: '0', device: 'desktop' }]);
    const totals = await query<{ clicks: string }>(
      suite.db.url,
      `SELECT clicks::text FROM link_click_totals WHERE link_id = $1`,
      [linkId],
    );
    expect(totals).toEqual([{ clicks: '30' }]);

    const stats = suite.module.get(StatsRepository);
    const from = new Date('2030-05-02T00:00:00.000Z');
    const to = new Date('2030-05-03T00:00:00.000Z');
    expect(sorted(await stats.breakdowns(linkId, from, to, false))).toEqual(
      sorted([
        { dimension: 'referrers', value: 'ref0.example', clicks: 15 },
        { dimension: 'referrers', value: 'ref1.example', clicks: 15 },
        { dimension: 'countries', value: null, clicks: 30 },
        { dimension: 'browsers', value: 'Firefox', clicks: 30 },
        { dimension: 'os', value: 'Linux', clicks: 30 },
        { dimension: 'devices', value: 'desktop', clicks: 30 },
      ]),
    );
  });

  it('counts a redelivered batch once: rows stored twice, stats and totals unchanged', async () => {
    const events = clicksOf(20);
    const linkId = events[0]!.linkId;
    await Promise.all(events.map((e) => ingest.accept(e)));
    const stats = suite.module.get(StatsRepository);
    const from = new Date('2030-05-01T00:00:00.000Z');
    const to = new Date('2030-05-04T00:00:00.000Z');
    const before = sorted(await stats.breakdowns(linkId, from, to, true));
    const dailyBefore = await clickhouse.dailyClicks(linkId, '2030-05-01', '2030-05-03');

    // The broker delivers the whole batch again (a worker killed before its ack).
    await Promise.all(events.map((e) => ingest.accept(e)));

    // ClickHouse holds the rows twice (no merge forced): only the query-time dedup keeps counts.
    expect(await clickhouse.storedRows(linkId)).toBe(40);
    expect(sorted(await stats.breakdowns(linkId, from, to, true))).toEqual(before);
    expect(before.find((r) => r.dimension === 'devices')).toEqual({
      dimension: 'devices',
      value: 'desktop',
      clicks: 20,
    });
    expect(await clickhouse.dailyClicks(linkId, '2030-05-01', '2030-05-03')).toEqual(dailyBefore);
    expect(dailyBefore).toEqual([
      { day: '2030-05-02', total: 20, human: 20, visitors: 1, humanVisitors: 1 },
    ]);
    expect(await stats.dailyClicks(linkId, '2030-05-01', '2030-05-03')).toEqual(dailyBefore);
  });
});

describe('ClickIngestService while ClickHouse is unreachable', () => {
  const target = new URL(TEST_CLICKHOUSE_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 8123));
  const database = uniqueClickHouseDatabase();
  beforeAll(() => proxy.open());
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    {
      env: () => ({
        ...clickHouseEnv(database, `http://127.0.0.1:${proxy.port}`),
        CLICKHOUSE_TIMEOUT_MS: '1000',
        CLICKS_BATCH_SIZE: '10',
        CLICKS_BATCH_INTERVAL_MS: '20',
      }),
    },
  );
  const clickhouse = testClickHouse(database);
  afterAll(async () => {
    await proxy.cut();
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('holds the batch (nothing acknowledged) and stores it all once back', async () => {
    const ingest = suite.module.get(ClickIngestService);
    await ingest.warmUp();
    await proxy.cut();
    const events = clicksOf(10);
    const linkId = events[0]!.linkId;
    let settled = 0;
    const accepted = events.map((e) => ingest.accept(e).finally(() => settled++));
    // Retried with backoff: wait for a few failures, then check nothing was acknowledged.
    const { register } = await import('prom-client');
    const failures = async () =>
      (await register.getSingleMetric('snip_clicks_store_failures_total')?.get())?.values[0]
        ?.value ?? 0;
    const start = await failures();
    await eventually(async () => (await failures()) >= start + 2, { timeoutMs: 15_000 });
    expect(settled).toBe(0);
    // The receipts went to PostgreSQL meanwhile (the two writes run at once); only ClickHouse's
    // write is retried.
    const inPostgres = await query<{ n: string }>(
      suite.db.url,
      'SELECT count(*)::text AS n FROM clicks WHERE link_id = $1',
      [linkId],
    );
    expect(inPostgres).toEqual([{ n: '10' }]);
    // Meanwhile the stats' breakdowns (read from ClickHouse) answer 503, not a 500.
    await expect(
      suite.module
        .get(StatsRepository)
        .breakdowns(linkId, new Date('2030-05-01'), new Date('2030-05-03'), true),
    ).rejects.toBeInstanceOf(ServiceUnavailableException);

    await proxy.open();
    expect(await Promise.all(accepted)).toEqual(Array(10).fill(stored));
    expect(await clickhouse.dailyClicks(linkId, '2030-05-02', '2030-05-02')).toEqual([
      { day: '2030-05-02', total: 10, human: 10, visitors: 1, humanVisitors: 1 },
    ]);
    // Retried in ClickHouse alone: one row per click there.
    expect(await clickhouse.storedRows(linkId)).toBe(10);
    expect(
      await suite.module.get(StatsRepository).dailyClicks(linkId, '2030-05-02', '2030-05-02'),
    ).toEqual([{ day: '2030-05-02', total: 10, human: 10, visitors: 1, humanVisitors: 1 }]);
  }, 30_000);
});

describe('retention with CLICKS_SINK=clickhouse', () => {
  const database = uniqueClickHouseDatabase();
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => clickHouseEnv(database) },
  );
  const clickhouse = testClickHouse(database);
  afterAll(async () => {
    await clickhouse.dropDatabase();
    await clickhouse.close();
  });

  it('drops the expired days in ClickHouse in the same run as PostgreSQL, and keeps the totals', async () => {
    const DAY = 86_400_000;
    const now = new Date();
    const today = Math.floor(now.getTime() / DAY) * DAY;
    const dayBefore = (n: number): string => new Date(today - n * DAY).toISOString().slice(0, 10);
    const ingest = suite.module.get(ClickIngestService);
    const link = { id: String(nextLink++), code: 'chkeep1' };
    const events = [10, 5, 1].flatMap((n) =>
      Array.from({ length: 3 }, (_, i) =>
        createClickEvent(
          link,
          { method: 'GET', userAgent: FIREFOX },
          '203.0.113.0',
          new Date(today - n * DAY + 3_600_000 + i * 1000),
        ),
      ),
    );
    expect(await Promise.all(events.map((e) => ingest.accept(e)))).toEqual(
      events.map(() => stored),
    );
    const stats = suite.module.get(StatsRepository);
    const dailyBefore = await stats.dailyClicks(link.id, dayBefore(12), dayBefore(0));
    expect(dailyBefore.map((d) => d.total)).toEqual([3, 3, 3]);
    expect(await clickhouse.storedRows(link.id)).toBe(9);

    const result = await suite.module.get(ClickRetention).prune(3, now);
    expect(result).toMatchObject({ status: 'done', cutoff: dayBefore(3), failed: [] });
    const dropped = result.status === 'done' ? result.dropped : [];
    expect(dropped.filter((d) => d.store === 'clickhouse')).toEqual([
      { store: 'clickhouse', table: 'clicks', day: dayBefore(10) },
      { store: 'clickhouse', table: 'clicks', day: dayBefore(5) },
    ]);
    expect(dropped.filter((d) => d.store === 'postgres' && d.table === 'clicks')).toEqual(
      expect.arrayContaining([
        { store: 'postgres', table: 'clicks', day: dayBefore(10) },
        { store: 'postgres', table: 'clicks', day: dayBefore(5) },
      ]),
    );
    // The raw rows of the dropped days are gone from ClickHouse; the daily totals stay.
    expect(await clickhouse.storedRows(link.id)).toBe(3);
    expect(await stats.dailyClicks(link.id, dayBefore(12), dayBefore(0))).toEqual(dailyBefore);
    expect(await clickhouse.dropDaysBefore(dayBefore(3))).toEqual([]);
  });
});

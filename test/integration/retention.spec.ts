import { Client } from 'pg';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  AnalyticsModule,
  ClickIngestService,
  ClickPartitionsRepository,
  ClickRetention,
  ClicksRepository,
  StatsRepository,
  type PruneResult,
} from '@app/analytics';
import { createClickEvent } from '@app/clicks';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { clickRow } from '../support/click-rows';
import { query } from '../support/database';
import { useTestingModule } from '../support/testing-module';

/**
 * Retention of raw clicks on a real, migrated PostgreSQL: ClickRetention drops the day partitions
 * of `clicks` older than the window and nothing else, leaves the daily rollups, the links' totals
 * and the daily stats as they were, does nothing twice, and never runs in two places at once; the
 * ingest neither stores an expired click nor re-creates its partition.
 */

const DAY_MS = 86_400_000;
/** The run's "now": the days below are relative to its UTC day D. */
const NOW = new Date();
const TODAY = Math.floor(NOW.getTime() / DAY_MS) * DAY_MS;
/** The UTC day `n` days before D, YYYY-MM-DD. */
const dayBefore = (n: number): string => new Date(TODAY - n * DAY_MS).toISOString().slice(0, 10);
/** The partition of day `n` days before D. */
const partitionOf = (n: number): string => `clicks_${dayBefore(n).replaceAll('-', '')}`;
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const LINKS = ['9101', '9102'];
/** The dropped-partition counter of `table`, from the process's registry. */
const droppedMetric = async (table = 'clicks'): Promise<number> =>
  (await register.getSingleMetric('snip_clicks_partitions_dropped_total')?.get())?.values.find(
    (v) => v.labels.table === table,
  )?.value ?? 0;

describe('ClickRetention', () => {
  const suite = useTestingModule({ imports: [AnalyticsModule] });
  let retention: ClickRetention;
  let clicks: ClicksRepository;
  let stats: StatsRepository;

  const sql = <T extends Record<string, unknown>>(text: string, params?: unknown[]) =>
    query<T>(suite.db.url, text, params);
  /** The tables whose name starts with clicks_, partitions or not, by name. */
  const clickTables = async (): Promise<string[]> =>
    (
      await sql<{ name: string }>(
        `SELECT relname AS name FROM pg_class WHERE relname LIKE 'clicks\\_%' AND relkind IN ('r', 'p')
          ORDER BY relname`,
      )
    ).map((r) => r.name);
  /** Everything retention must leave alone: rollups, totals, daily stats, by link. */
  const kept = async () => ({
    rollups: await sql(
      `SELECT link_id::text, to_char(day, 'YYYY-MM-DD') AS day, total::text, human::text,
              visitors::text, human_visitors::text
         FROM click_daily_rollups ORDER BY link_id, day`,
    ),
    totals: await sql(`SELECT link_id::text, clicks::text FROM link_click_totals ORDER BY link_id`),
    daily: await Promise.all(
      LINKS.map((link) => stats.dailyClicks(link, dayBefore(30), dayBefore(0))),
    ),
  });
  const rawDays = async (): Promise<string[]> =>
    (
      await sql<{ day: string }>(
        `SELECT DISTINCT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
           FROM clicks WHERE link_id = ANY($1::bigint[]) ORDER BY 1`,
        [LINKS],
      )
    ).map((r) => r.day);

  beforeAll(async () => {
    retention = suite.module.get(ClickRetention);
    clicks = suite.module.get(ClicksRepository, { strict: false });
    stats = suite.module.get(StatsRepository, { strict: false });
    // Clicks on each day from D-10 to D (noon UTC, so never "in the future" today), a bot among
    // them, for two links.
    const rows = range(0, 10).flatMap((n) =>
      LINKS.flatMap((linkId, l) =>
        range(0, l + 1).map((i) =>
          clickRow({
            linkId,
            occurredAt: new Date(TODAY - n * DAY_MS + 1000 * i).toISOString(),
            isBot: i === 1,
          }),
        ),
      ),
    );
    expect(await clicks.insertClicksIgnoringDuplicates(rows)).toBe(rows.length);
    // Tables that look like old clicks but are not day partitions of `clicks`: a month
    // partition, a plain table named as a day partition, and a partition of another table.
    await sql(
      `CREATE TABLE clicks_200001 PARTITION OF clicks
         FOR VALUES FROM ('2000-01-01 00:00:00+00') TO ('2000-02-01 00:00:00+00')`,
    );
    await sql(`CREATE TABLE clicks_20000301 (id int)`);
    await sql(`CREATE TABLE other_parent (day date) PARTITION BY RANGE (day)`);
    await sql(
      `CREATE TABLE clicks_20000401 PARTITION OF other_parent FOR VALUES FROM ('2000-04-01') TO ('2000-04-02')`,
    );
  });

  it('in a dry run lists the expired days and drops nothing', async () => {
    const before = await clickTables();
    const result = await retention.prune(3, NOW, { dryRun: true });
    expect(result).toMatchObject({ status: 'done', cutoff: dayBefore(3), dryRun: true });
    const dropped = (result as Extract<PruneResult, { status: 'done' }>).dropped;
    for (const table of ['clicks', 'click_daily_visitors']) {
      expect(dropped.filter((d) => d.table === table).map((d) => d.day)).toEqual(
        range(4, 10).reverse().map(dayBefore),
      );
    }
    expect(dropped).toHaveLength(14);
    expect(dropped.every((d) => d.store === 'postgres')).toBe(true);
    expect(await clickTables()).toEqual(before);
    expect(await rawDays()).toEqual(range(0, 10).reverse().map(dayBefore));
  });

  it('drops exactly the day partitions before the window, and keeps rollups, totals and stats', async () => {
    const before = await kept();
    const metricBefore = await droppedMetric();
    const visitorSetsBefore = await droppedMetric('click_daily_visitors');
    const result = await retention.prune(3, NOW);
    expect(result).toEqual({
      status: 'done',
      cutoff: dayBefore(3),
      dryRun: false,
      // Each day's clicks, then each day's visitor set (made by the same partition function).
      dropped: ['clicks', 'click_daily_visitors'].flatMap((table) =>
        range(4, 10)
          .reverse()
          .map((n) => ({ store: 'postgres', table, day: dayBefore(n) })),
      ),
      failed: [],
    });
    const tables = await clickTables();
    for (const n of range(4, 10)) expect(tables).not.toContain(partitionOf(n));
    for (const n of range(0, 3)) expect(tables).toContain(partitionOf(n));
    expect(tables).toEqual(
      expect.arrayContaining(['clicks_200001', 'clicks_20000301', 'clicks_20000401']),
    );
    expect(await rawDays()).toEqual(range(0, 3).reverse().map(dayBefore));
    expect(await kept()).toEqual(before);
    // The daily stats still go back to D-10, from the rollups.
    expect(before.daily[1]).toHaveLength(11);
    expect(await droppedMetric()).toBe(metricBefore + 7);
    expect(await droppedMetric('click_daily_visitors')).toBe(visitorSetsBefore + 7);
  });

  it('does nothing on a second run', async () => {
    const tables = await clickTables();
    expect(await retention.prune(3, NOW)).toMatchObject({ status: 'done', dropped: [] });
    expect(await clickTables()).toEqual(tables);
  });

  it('is off with 0 days', async () => {
    expect(await retention.prune(0, NOW)).toEqual({ status: 'off' });
  });

  it('skips while another session holds the lock, then runs', async () => {
    await clicks.ensurePartitions([dayBefore(20)]);
    const other = new Client({ connectionString: suite.db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(8317701491564639342)`);
      expect(await retention.prune(3, NOW)).toEqual({ status: 'locked', cutoff: dayBefore(3) });
      expect(await clickTables()).toContain(partitionOf(20));
    } finally {
      await other.end();
    }
    expect(await retention.prune(3, NOW)).toMatchObject({
      status: 'done',
      dropped: [
        { table: 'clicks', day: dayBefore(20) },
        { table: 'click_daily_visitors', day: dayBefore(20) },
      ],
    });
  });

  it('runs in two workers at once without failing or dropping anything twice', async () => {
    const rows = range(11, 16).map((n) =>
      clickRow({ linkId: LINKS[0], occurredAt: new Date(TODAY - n * DAY_MS).toISOString() }),
    );
    await clicks.insertClicksIgnoringDuplicates(rows);
    const before = await kept();
    const logger = suite.module.get<Logger>(ROOT_LOGGER);
    const workers = [0, 1].map(
      () => new ClickRetention(new ClickPartitionsRepository(suite.module.get(DataSource)), logger),
    );
    const results = await Promise.all(workers.map((w) => w.prune(3, NOW)));
    const dropped = results.flatMap((r) => (r.status === 'done' ? r.dropped : []));
    expect(results.every((r) => r.status === 'done' || r.status === 'locked')).toBe(true);
    for (const table of ['clicks', 'click_daily_visitors']) {
      expect(
        dropped
          .filter((d) => d.table === table)
          .map((d) => d.day)
          .sort(),
      ).toEqual(range(11, 16).reverse().map(dayBefore));
    }
    expect(await rawDays()).toEqual(range(0, 3).reverse().map(dayBefore));
    expect(await kept()).toEqual(before);
  });

  it('prunes the other raw stores in the same run, and goes on past one that fails', async () => {
    await clicks.ensurePartitions([dayBefore(30)]);
    const asked: string[] = [];
    const other = {
      name: 'clickhouse',
      dropDaysBefore: (day: string) => {
        asked.push(day);
        return Promise.resolve([{ table: 'clicks_raw', day: dayBefore(30) }]);
      },
    };
    const broken = {
      name: 'broken',
      dropDaysBefore: () => Promise.reject(new Error('store unreachable')),
    };
    const withStores = new ClickRetention(
      new ClickPartitionsRepository(suite.module.get(DataSource)),
      suite.module.get<Logger>(ROOT_LOGGER),
      [broken, other],
    );
    expect(await withStores.prune(3, NOW)).toEqual({
      status: 'done',
      cutoff: dayBefore(3),
      dryRun: false,
      dropped: [
        { store: 'postgres', table: 'clicks', day: dayBefore(30) },
        { store: 'postgres', table: 'click_daily_visitors', day: dayBefore(30) },
        { store: 'clickhouse', table: 'clicks_raw', day: dayBefore(30) },
      ],
      failed: [{ store: 'broken', error: 'store unreachable' }],
    });
    expect(asked).toEqual([dayBefore(3)]);
    expect(await clickTables()).not.toContain(partitionOf(30));
  });

  it('lets the click repository re-create a day it had seen, once another process dropped it', async () => {
    const day = dayBefore(40);
    await clicks.ensurePartitions([day]);
    await sql(`DROP TABLE clicks_${day.replaceAll('-', '')}`);
    const row = clickRow({ linkId: '9103', occurredAt: `${day}T06:00:00.000Z` });
    await expect(clicks.insertClicksIgnoringDuplicates([row])).rejects.toMatchObject({
      code: '23514',
    });
    expect(await clicks.insertClicksIgnoringDuplicates([row])).toBe(1);
  });
});

describe('ClickIngestService with CLICKS_RETENTION_DAYS', () => {
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => ({ CLICKS_RETENTION_DAYS: '3', CLICKS_BATCH_INTERVAL_MS: '10' }) },
  );
  const metricValue = async (name: string): Promise<number> =>
    (await register.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
  const expiredMetric = (): Promise<number> => metricValue('snip_clicks_expired_total');

  it('acknowledges a click older than the window without storing it or re-creating its day', async () => {
    const ingest = suite.module.get(ClickIngestService);
    const link = { id: '9201', code: 'retain1' };
    const visitor = { method: 'GET', userAgent: 'curl/8.5.0' };
    const old = createClickEvent(link, visitor, null, new Date(TODAY - 4 * DAY_MS + 3_600_000));
    const edge = createClickEvent(link, visitor, null, new Date(TODAY - 3 * DAY_MS));
    const fresh = createClickEvent(link, visitor, null, NOW);
    const expiredBefore = await expiredMetric();

    const outcomes = await Promise.all([old, edge, fresh].map((e) => ingest.accept(e)));

    expect(outcomes).toEqual(Array(3).fill({ status: 'stored' }));
    const stored = await query<{ id: string }>(
      suite.db.url,
      'SELECT id::text FROM clicks WHERE link_id = $1 ORDER BY occurred_at',
      [link.id],
    );
    expect(stored.map((r) => r.id)).toEqual([edge.id, fresh.id]);
    const [partition] = await query<{ t: string | null }>(
      suite.db.url,
      'SELECT to_regclass($1)::text AS t',
      [partitionOf(4)],
    );
    expect(partition!.t).toBeNull();
    const [total] = await query<{ clicks: string }>(
      suite.db.url,
      'SELECT clicks::text FROM link_click_totals WHERE link_id = $1',
      [link.id],
    );
    expect(total!.clicks).toBe('2');
    expect(await expiredMetric()).toBe(expiredBefore + 1);
  });

  it('counts an expired click once when its batch is retried', async () => {
    const ingest = suite.module.get(ClickIngestService);
    const link = { id: '9202', code: 'retain2' };
    const visitor = { method: 'GET', userAgent: 'curl/8.5.0' };
    // Today's partition exists once a click of today is stored; dropped behind the ingest's back,
    // the next batch's first attempt fails (no partition for its row) and the retry re-creates it.
    await ingest.accept(createClickEvent(link, visitor, null, NOW));
    await query(suite.db.url, `DROP TABLE ${partitionOf(0)}`);
    const failuresBefore = await metricValue('snip_clicks_store_failures_total');
    const expiredBefore = await expiredMetric();

    const old = createClickEvent(link, visitor, null, new Date(TODAY - 5 * DAY_MS));
    const fresh = createClickEvent(link, visitor, null, NOW);
    const outcomes = await Promise.all([old, fresh].map((e) => ingest.accept(e)));

    expect(outcomes).toEqual(Array(2).fill({ status: 'stored' }));
    expect(await metricValue('snip_clicks_store_failures_total')).toBeGreaterThan(failuresBefore);
    expect(await expiredMetric()).toBe(expiredBefore + 1);
    const stored = await query<{ id: string }>(
      suite.db.url,
      'SELECT id::text FROM clicks WHERE link_id = $1 AND id = $2',
      [link.id, fresh.id],
    );
    expect(stored).toHaveLength(1);
  });
});

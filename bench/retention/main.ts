import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import pino from 'pino';
import { DataSource } from 'typeorm';
import {
  ClickEnricher,
  ClickHouseClicks,
  ClickPartitionsRepository,
  ClickRetention,
  ClicksRepository,
  loadCountryLookup,
  visitorId,
  type ClickRow,
} from '@app/analytics';
import { createClickEvent } from '@app/clicks';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions, runMigrations } from '@app/database';
import { USER_AGENTS as AGENTS } from '../support/traffic';

/**
 * Disk per million raw clicks in PostgreSQL, and the cost of dropping them, loopback only,
 * bounded (one run of BENCH_ROWS rows, about two minutes):
 *
 * 1. A throwaway database with the real migrations; BENCH_ROWS (1,000,000) realistic enriched
 *    clicks over BENCH_DAYS (10) past UTC days and BENCH_LINKS (10,000) links (skewed: a few links
 *    take most clicks), stored by ClicksRepository in batches of BENCH_BATCH (1,000) as the worker
 *    does, in time order (rollups and link totals included).
 * 2. After ANALYZE: the size of the day partitions of `clicks` (heap with TOAST, and indexes), of
 *    `click_daily_rollups` and of `link_click_totals`, via pg_total_relation_size and kin; the
 *    last two again after VACUUM FULL (without the dead row versions of their updates).
 * 3. ClickRetention.prune(1) drops every one of those days; its duration, and the rollups and
 *    totals compared before and after.
 * 4. When ClickHouse answers at BENCH_CLICKHOUSE_URL (http://127.0.0.1:8123; `bash
 *    scripts/services.sh clickhouse`): the same rows, with their visitor ids, into a throwaway
 *    database with the real ClickHouse migrations, in batches of 10,000 (ClickHouseClicks.insert,
 *    as the sink writes them); after OPTIMIZE ... FINAL, the bytes on disk of the active parts of
 *    `clicks` (compressed, and uncompressed for the ratio); then the days dropped as retention does
 *    (dropDaysBefore), timed.
 *
 *   npm run bench:retention
 */

const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 10);
const LINKS = Number(process.env.BENCH_LINKS ?? 10_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
/** Distinct events enriched; the other rows reuse their enrichment (the parsers cost CPU only). */
const POOL = 20_000;
const CLICKHOUSE_URL = process.env.BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const CLICKHOUSE_BATCH = 10_000;
const TIMEOUT_MS = 600_000;
const DAY_MS = 86_400_000;

const log = (line: string): boolean => process.stdout.write(`${line}\n`);
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const REFERRERS = [
  'https://www.google.com/',
  'https://news.ycombinator.com/item?id=38000000',
  'https://t.co/AbCdEfGhIj',
  'https://www.facebook.com/',
  'https://www.linkedin.com/feed/',
  undefined,
];
const LANGUAGES = ['en-GB,en;q=0.9', 'en-US,en;q=0.9', 'de-DE,de;q=0.9,en;q=0.8', 'fr-FR,fr;q=0.9'];

async function admin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_DB });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Row `i` of ROWS: its link (skewed), time (in order over the DAYS days before today), visitor. */
function makeRow(i: number, start: number, enricher: ClickEnricher, pool: ClickRow[]): ClickRow {
  const linkIndex = Math.floor(LINKS * (((i * 7919) % 10007) / 10007) ** 3);
  const link = {
    id: String(1 + linkIndex),
    code: `c${(1 + linkIndex).toString(36).padStart(6, '0')}`,
  };
  const at = new Date(start + Math.floor((i * DAYS * DAY_MS) / ROWS));
  const ip = `${1 + (i % 223)}.${(i >> 3) % 256}.${(i >> 11) % 256}.0`;
  const event = createClickEvent(
    link,
    {
      method: i % 50 === 0 ? 'HEAD' : 'GET',
      userAgent: AGENTS[i % AGENTS.length],
      referrer: REFERRERS[(i >> 3) % REFERRERS.length],
      acceptLanguage: LANGUAGES[(i >> 5) % LANGUAGES.length],
    },
    ip,
    at,
  );
  if (i < POOL) {
    const row = enricher.enrich(event);
    pool.push(row);
    return row;
  }
  const like = pool[i % POOL]!;
  return { ...like, id: event.id, occurredAt: event.ts, linkId: link.id, code: link.code, ip };
}

interface Sizes {
  readonly partitions: number;
  readonly heap: number;
  readonly indexes: number;
  readonly total: number;
}

/** The partitions of `clicks` of the days from `first` to `last` (YYYYMMDD), their sizes summed. */
async function clickSizes(client: Client, first: string, last: string): Promise<Sizes> {
  const { rows } = await client.query<{ n: string; heap: string; idx: string; total: string }>(
    `SELECT count(*)::text AS n, sum(pg_table_size(c.oid))::text AS heap,
            sum(pg_indexes_size(c.oid))::text AS idx, sum(pg_total_relation_size(c.oid))::text AS total
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'clicks'::regclass AND c.relname BETWEEN $1 AND $2`,
    [`clicks_${first}`, `clicks_${last}`],
  );
  const r = rows[0]!;
  return {
    partitions: Number(r.n),
    heap: Number(r.heap),
    indexes: Number(r.idx),
    total: Number(r.total),
  };
}

async function tableSize(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ size: string }>(
    `SELECT pg_total_relation_size($1::regclass)::text AS size`,
    [table],
  );
  return Number(rows[0]!.size);
}

async function main(): Promise<void> {
  const name = `snip_bench_retention_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_DB);
  url.pathname = `/${name}`;
  const config = loadConfig(
    { SNIP_PROFILE: 'test', DATABASE_URL: url.toString(), DATABASE_QUERY_TIMEOUT_MS: '0' },
    { namespaces: ['database'] },
  );
  const dataSource = new DataSource(
    buildDataSourceOptions(config.database, [], { unboundedQueries: true }),
  );
  const client = new Client({ connectionString: url.toString() });
  try {
    await dataSource.initialize();
    await runMigrations(dataSource);
    await client.connect();
    const version = (
      await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)
    ).rows[0]!.v;
    const enricher = new ClickEnricher(await loadCountryLookup());
    const clicks = new ClicksRepository(dataSource);
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const start = today - DAYS * DAY_MS;
    const pool: ClickRow[] = [];
    log(
      `PostgreSQL ${version}; ${ROWS.toLocaleString('en')} clicks over ${DAYS} days, ` +
        `${LINKS.toLocaleString('en')} links, batches of ${BATCH}`,
    );

    const insertStarted = process.hrtime.bigint();
    let stored = 0;
    for (let from = 0; from < ROWS; from += BATCH) {
      const rows: ClickRow[] = [];
      for (let i = from; i < Math.min(from + BATCH, ROWS); i++)
        rows.push(makeRow(i, start, enricher, pool));
      stored += await clicks.insertClicksIgnoringDuplicates(rows);
      if ((from / BATCH) % 100 === 0) process.stdout.write('.');
    }
    const insertSeconds = Number(process.hrtime.bigint() - insertStarted) / 1e9;
    log(
      `\nstored ${stored.toLocaleString('en')} rows in ${insertSeconds.toFixed(1)} s (${Math.round(stored / insertSeconds).toLocaleString('en')} rows/s, with rollups)`,
    );
    if (stored !== ROWS) throw new Error(`stored ${stored} rows, not ${ROWS}`);

    await client.query('ANALYZE');
    const compact = (ms: number): string =>
      new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const sizes = await clickSizes(client, compact(start), compact(today - DAY_MS));
    const rollups = await tableSize(client, 'click_daily_rollups');
    const totals = await tableSize(client, 'link_click_totals');
    const counts = (
      await client.query<{ rollups: string; links: string }>(
        `SELECT (SELECT count(*) FROM click_daily_rollups)::text AS rollups,
                (SELECT count(*) FROM link_click_totals)::text AS links`,
      )
    ).rows[0]!;
    const perMillion = (bytes: number): string => mib((bytes * 1_000_000) / ROWS);
    log(`clicks, the ${sizes.partitions} day partitions with rows:`);
    log(`  heap + TOAST   ${mib(sizes.heap)}  (${(sizes.heap / ROWS).toFixed(0)} B per click)`);
    log(
      `  indexes        ${mib(sizes.indexes)}  (${(sizes.indexes / ROWS).toFixed(0)} B per click)`,
    );
    log(`  total          ${mib(sizes.total)}  -> ${perMillion(sizes.total)} per million clicks`);
    log(
      `click_daily_rollups ${mib(rollups)} (${Number(counts.rollups).toLocaleString('en')} rows: link x day)`,
    );
    log(`link_click_totals   ${mib(totals)} (${Number(counts.links).toLocaleString('en')} rows)`);

    // The rollups and totals are updated by every batch: what is above includes their dead row
    // versions (autovacuum makes that space reusable in a steady state). Their live size:
    await client.query('VACUUM FULL click_daily_rollups, link_click_totals');
    log(
      `after VACUUM FULL: click_daily_rollups ${mib(await tableSize(client, 'click_daily_rollups'))}, ` +
        `link_click_totals ${mib(await tableSize(client, 'link_click_totals'))}`,
    );

    const summary = async () =>
      (
        await client.query<{ s: string }>(
          `SELECT (SELECT sum(total)::text || '/' || sum(human)::text || '/' || count(*)::text FROM click_daily_rollups)
                  || ' ' || (SELECT sum(clicks)::text || '/' || count(*)::text FROM link_click_totals) AS s`,
        )
      ).rows[0]!.s;
    const before = await summary();
    const retention = new ClickRetention(
      new ClickPartitionsRepository(dataSource),
      pino({ level: 'silent' }),
    );
    const pruneStarted = process.hrtime.bigint();
    // Tomorrow's view with 1 day kept: every day before today goes.
    const result = await retention.prune(1, new Date(today + DAY_MS + DAY_MS / 2));
    const pruneMs = Number(process.hrtime.bigint() - pruneStarted) / 1e6;
    const dropped = result.status === 'done' ? result.dropped.length : 0;
    const left = Number(
      (await client.query<{ n: string }>('SELECT count(*)::text AS n FROM clicks')).rows[0]!.n,
    );
    const after = await summary();
    log(
      `prune(1): dropped ${dropped} day partitions in ${pruneMs.toFixed(0)} ms; ${left} raw clicks left; ` +
        `rollups and totals ${before === after ? 'unchanged' : `CHANGED (${before} -> ${after})`} (${after})`,
    );
    if (before !== after || left !== 0) process.exitCode = 1;
    await clickHouseDisk(start, enricher, today);
  } finally {
    await client.end().catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  }
}

/** One statement on ClickHouse's HTTP interface, its JSONEachRow rows. */
async function clickHouseRows<T>(sql: string): Promise<T[]> {
  const res = await fetch(
    `${CLICKHOUSE_URL}/?query=${encodeURIComponent(`${sql} FORMAT JSONEachRow`)}`,
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse answered ${res.status}: ${text}`);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

/** Step 4: the same rows in ClickHouse, their bytes on disk, and their days dropped. */
async function clickHouseDisk(
  start: number,
  enricher: ClickEnricher,
  today: number,
): Promise<void> {
  const database = `snip_bench_retention_${Date.now().toString(36)}`;
  const clickhouse = new ClickHouseClicks({
    url: CLICKHOUSE_URL,
    database,
    user: 'default',
    password: undefined,
    timeoutMs: 120_000,
  });
  try {
    if (!(await clickhouse.ping().catch(() => false))) {
      log(`ClickHouse: nothing answers at ${CLICKHOUSE_URL}; skipped`);
      return;
    }
    const [{ version = '?' } = {}] = await clickHouseRows<{ version: string }>(
      'SELECT version() AS version',
    );
    await clickhouse.migrate();
    const salt = randomBytes(32);
    const pool: ClickRow[] = [];
    const started = process.hrtime.bigint();
    for (let from = 0; from < ROWS; from += CLICKHOUSE_BATCH) {
      const rows: ClickRow[] = [];
      for (let i = from; i < Math.min(from + CLICKHOUSE_BATCH, ROWS); i++) {
        const row = makeRow(i, start, enricher, pool);
        rows.push({ ...row, visitorId: visitorId(salt, row.ip, row.userAgent) });
      }
      await clickhouse.insert(rows);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    log(
      `ClickHouse ${version}: stored ${ROWS.toLocaleString('en')} rows in ${seconds.toFixed(1)} s ` +
        `(${Math.round(ROWS / seconds).toLocaleString('en')} rows/s, batches of ${CLICKHOUSE_BATCH})`,
    );
    await clickHouseRows(`OPTIMIZE TABLE \`${database}\`.clicks FINAL`).catch(() => []);
    const [size] = await clickHouseRows<{
      rows: string;
      disk: string;
      compressed: string;
      raw: string;
      parts: string;
    }>(
      `SELECT toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS disk,
              toString(sum(data_compressed_bytes)) AS compressed,
              toString(sum(data_uncompressed_bytes)) AS raw, toString(count()) AS parts
         FROM system.parts WHERE database = '${database}' AND table = 'clicks' AND active`,
    );
    if (!size) throw new Error('ClickHouse: no parts for clicks');
    const disk = Number(size.disk);
    log(
      `ClickHouse clicks: ${Number(size.rows).toLocaleString('en')} rows in ${size.parts} parts, ` +
        `${mib(disk)} on disk (${(disk / Number(size.rows)).toFixed(1)} B a click), ` +
        `data ${mib(Number(size.compressed))} compressed from ${mib(Number(size.raw))} ` +
        `(${(Number(size.raw) / Number(size.compressed)).toFixed(1)}x)`,
    );
    const dropStarted = process.hrtime.bigint();
    const dropped = await clickhouse.dropDaysBefore(
      new Date(today + DAY_MS).toISOString().slice(0, 10),
    );
    const dropMs = Number(process.hrtime.bigint() - dropStarted) / 1e6;
    log(
      `ClickHouse dropDaysBefore(tomorrow): ${dropped.length} day partitions in ${dropMs.toFixed(0)} ms; ` +
        `${await clickhouse.storedRows('1')} rows of link 1 left`,
    );
  } finally {
    await clickhouse.dropDatabase().catch(() => undefined);
    await clickhouse.close();
  }
}

const deadline = setTimeout(() => {
  log(`bench:retention: still running after ${TIMEOUT_MS / 1000} s; giving up`);
  process.exit(1);
}, TIMEOUT_MS);
deadline.unref();
main().then(
  () => clearTimeout(deadline),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);

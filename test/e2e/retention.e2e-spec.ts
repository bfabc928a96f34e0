import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { uniqueName } from '../support/clicks';
import { eventually } from '../support/eventually';
import { metric } from '../support/metrics';
import { built, ROOT, runCli, spawnLogs, type SpawnedLogs } from '../support/process';
import { REDIS_URL } from '../support/services';

jest.setTimeout(90_000);

const DAY_MS = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const dayBefore = (n: number): string => new Date(TODAY - n * DAY_MS).toISOString().slice(0, 10);
/** What a prune of the days `n` days ago reports: each day's clicks, then each day's visitor set. */
const dayPartitions = (days: number[]) =>
  ['clicks', 'click_daily_visitors'].flatMap((table) =>
    days.map((n) => ({ store: 'postgres', table, day: dayBefore(n) })),
  );

/**
 * `clicks:prune` on the built command line against a migrated PostgreSQL: argument errors before
 * anything connects, retention off, a dry run, the drop itself, a second run, and the exit status
 * when another process holds the prune lock.
 */
describe('clicks:prune from the command line', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const partitions = async (): Promise<string[]> =>
    (
      await query<{ name: string }>(
        db.url,
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'clicks'::regclass ORDER BY 1`,
      )
    ).map((r) => r.name);
  const partitionOf = (n: number): string => `clicks_${dayBefore(n).replaceAll('-', '')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn' };
    expect((await runCli(['migration:run'], env)).code).toBe(0);
    for (const n of [5, 6, 9]) {
      await query(db.url, `SELECT snip_ensure_click_partition($1::date)`, [dayBefore(n)]);
    }
  });
  afterAll(() => db?.drop());

  it('refuses bad arguments, and runs only with a number of days', async () => {
    const bad = await runCli(['clicks:prune', '--days', 'seven'], env);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('clicks:prune: --days must be a whole number from 1 to 36500');
    expect(bad.output).toContain('usage: npm run cli -- clicks:prune');
    const off = await runCli(['clicks:prune'], { ...env, CLICKS_RETENTION_DAYS: '0' });
    expect(off.code).toBe(2);
    expect(off.output).toContain('retention is off (CLICKS_RETENTION_DAYS=0)');
  });

  it('lists in a dry run, drops, then finds nothing more to drop', async () => {
    const before = await partitions();
    const dry = await runCli(['clicks:prune', '--dry-run', '--json'], {
      ...env,
      CLICKS_RETENTION_DAYS: '4',
    });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.output)).toEqual({
      days: 4,
      status: 'done',
      cutoff: dayBefore(4),
      dryRun: true,
      dropped: dayPartitions([9, 6, 5]),
      failed: [],
    });
    expect(await partitions()).toEqual(before);

    const run = await runCli(['clicks:prune', '--days', '5'], env);
    expect(run.code).toBe(0);
    expect(run.output).toContain(`dropped postgres clicks ${dayBefore(9)}`);
    expect(run.output).toContain(`dropped postgres click_daily_visitors ${dayBefore(9)}`);
    expect(run.output).toContain(`dropped 4 day partitions before ${dayBefore(5)}`);
    expect(await partitions()).toEqual(before.filter((p) => ![6, 9].map(partitionOf).includes(p)));

    const again = await runCli(['clicks:prune', '--days', '5'], env);
    expect(again.code).toBe(0);
    expect(again.output).toContain(`dropped 0 day partitions before ${dayBefore(5)}`);
  });

  it('exits 75 and drops nothing while another process holds the prune lock', async () => {
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(8317701491564639342)`);
      const locked = await runCli(['clicks:prune', '--days', '1'], env);
      expect(locked.code).toBe(75);
      expect(locked.output).toContain('another process is pruning clicks right now');
      expect(await partitions()).toContain(partitionOf(5));
    } finally {
      await other.end();
    }
  });
});

/**
 * The logs worker with CLICKS_RETENTION_DAYS drops the expired days on its own, shortly after it
 * starts (RetentionScheduler), and counts them.
 */
describe('the logs worker with CLICKS_RETENTION_DAYS', () => {
  let db: TestDatabase;
  let logs: SpawnedLogs | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    expect(
      (await runCli(['migration:run'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' })).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await logs?.stop();
    await db?.drop();
  });

  it('drops the expired day partitions on its schedule', async () => {
    for (const n of [3, 4, 12]) {
      await query(db.url, `SELECT snip_ensure_click_partition($1::date)`, [dayBefore(n)]);
    }
    const stream = uniqueName('retention');
    logs = await spawnLogs({
      DATABASE_URL: db.url,
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_REDIS_URL: REDIS_URL,
      CLICKS_STREAM: stream,
      CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
      CLICKS_RETENTION_DAYS: '3',
    });
    const exists = async (n: number): Promise<boolean> =>
      (
        await query<{ t: string | null }>(db.url, 'SELECT to_regclass($1)::text AS t', [
          `clicks_${dayBefore(n).replaceAll('-', '')}`,
        ])
      )[0]!.t !== null;
    await eventually(async () => !(await exists(4)) && !(await exists(12)), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the worker to drop the partitions of D-4 and D-12',
    });
    expect(await exists(3)).toBe(true);
    expect(
      await metric(logs.url, 'snip_clicks_partitions_dropped_total', { table: 'clicks' }),
    ).toBe(2);
    expect(logs.output.join('\n')).toContain('expired clicks dropped');
  });
});

/**
 * The same command on the embedded database (PGlite in DATA_DIR): a script on the built code makes
 * the schema and two old day partitions, then `clicks:prune` drops them with the same SQL.
 */
describe('clicks:prune on the embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'snip-prune-'));
  const env = {
    SNIP_PROFILE: 'local',
    SHORT_CODE_SECRET: '',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('drops the expired day partitions', async () => {
    const dist = resolve(built('cli.js'), '../../../..');
    // In a function: the -e script's top-level names would be globals the built modules see.
    const seed = `(async () => {
      const db = require(${JSON.stringify(`${dist}/libs/database/src`)});
      const { loadApiConfig } = require(${JSON.stringify(`${dist}/apps/api/src/config`)});
      const typeorm = require('typeorm');
      const database = await db.resolveDatabase(loadApiConfig(process.env));
      const source = new typeorm.DataSource(db.buildDataSourceOptions(database.config.database));
      await source.initialize();
      await db.runMigrations(source);
      for (const day of ${JSON.stringify([dayBefore(8), dayBefore(5)])}) {
        await source.query('SELECT snip_ensure_click_partition($1::date)', [day]);
      }
      await source.destroy();
      await database.close();
})().catch((error) => { process.stderr.write(String(error)); process.exit(1); });`;
    await promisify(execFile)(process.execPath, ['-e', seed], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    });

    const run = await runCli(['clicks:prune', '--days', '3', '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.output)).toMatchObject({
      status: 'done',
      cutoff: dayBefore(3),
      dropped: dayPartitions([8, 5]),
      failed: [],
    });
    const again = await runCli(['clicks:prune', '--days', '3', '--json'], env);
    expect(JSON.parse(again.output)).toMatchObject({ status: 'done', dropped: [] });
  }, 180_000);
});

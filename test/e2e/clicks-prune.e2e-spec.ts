import { Client } from 'pg';
import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { runCli } from '../support/process';

jest.setTimeout(90_000);

const DAY_MS = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const dayBefore = (n: number): string => new Date(TODAY - n * DAY_MS).toISOString().slice(0, 10);

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
      dropped: [9, 6, 5].map((n) => ({ store: 'postgres', table: 'clicks', day: dayBefore(n) })),
      failed: [],
    });
    expect(await partitions()).toEqual(before);

    const run = await runCli(['clicks:prune', '--days', '5'], env);
    expect(run.code).toBe(0);
    expect(run.output).toContain(`dropped postgres clicks ${dayBefore(9)}`);
    expect(run.output).toContain(`dropped 2 day partitions before ${dayBefore(5)}`);
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

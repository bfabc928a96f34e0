import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { runApiToExit, runCli, spawnApi } from '../support/process';

jest.setTimeout(60_000);

const linksTableExists = async (url: string): Promise<boolean> =>
  (await query<{ t: string | null }>(url, `SELECT to_regclass('public.links')::text AS t`))[0]!
    .t !== null;

/** Names listed as pending in the CLI's `migration:show` log line. */
function pendingIn(output: string): string[] {
  const line = output.split('\n').find((l) => l.includes('"pending"'));
  return line ? (JSON.parse(line) as { pending: string[] }).pending : [];
}

describe('migrations from the command line', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('shows, runs and reverts migrations as an explicit step', async () => {
    const env = { DATABASE_URL: db.url };

    const fresh = await runCli(['migration:show'], env);
    expect(fresh.code).toBe(3);
    const all = pendingIn(fresh.output);
    expect(all[0]).toMatch(/^CreateLinks\d+$/);
    expect(await linksTableExists(db.url)).toBe(false);

    const run = await runCli(['migration:run'], env);
    expect(run.code).toBe(0);
    expect(run.output).toContain('migrations applied');
    expect(await linksTableExists(db.url)).toBe(true);
    const applied = await query<{ name: string }>(db.url, 'SELECT name FROM schema_migrations');
    expect(applied.map((row) => row.name).sort()).toEqual([...all].sort());

    const current = await runCli(['migration:show'], env);
    expect(current.code).toBe(0);
    expect(pendingIn(current.output)).toEqual([]);

    const revert = await runCli(['migration:revert'], env);
    expect(revert.code).toBe(0);
    const afterRevert = await runCli(['migration:show'], env);
    expect(afterRevert.code).toBe(3);
    expect(pendingIn(afterRevert.output)).toEqual([all[all.length - 1]]);

    const again = await runCli(['migration:run'], env);
    expect(again.code).toBe(0);
    const reapplied = await query<{ name: string }>(db.url, 'SELECT name FROM schema_migrations');
    expect(reapplied.map((row) => row.name).sort()).toEqual([...all].sort());
  });

  it('refuses an unknown command with exit code 2', async () => {
    const res = await runCli(['migration:sideways'], { DATABASE_URL: db.url });
    expect(res.code).toBe(2);
    expect(res.output).toContain('unknown command');
  });
});

describe('the production profile', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const production = () => ({
    SNIP_PROFILE: 'production',
    DATABASE_URL: db.url,
    PUBLIC_BASE_URL: 'https://sn.ip',
    SHORT_CODE_SECRET: 'production-secret-0123456789',
    HOST: '127.0.0.1',
  });

  it('refuses to serve on a schema that is behind, and never migrates at boot', async () => {
    const run = await runApiToExit(production());
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    const output = run.stdout + run.stderr;
    expect(output).toContain('The database schema is behind');
    expect(output).toContain('npm run migration:run');
    expect(await linksTableExists(db.url)).toBe(false);
  });

  it('serves once `migration:run` has been applied', async () => {
    expect((await runCli(['migration:run'], production())).code).toBe(0);
    const api = await spawnApi({ env: production() });
    try {
      expect(api.output.join('\n')).toContain('"profile":"production"');
      expect(api.output.join('\n')).not.toContain('applied database migrations');
      expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
      const res = await fetch(`${api.url}/nothing-here`);
      expect(res.status).toBe(404);
    } finally {
      const code = await api.stop();
      expect({ code, log: code === 0 ? [] : api.output.slice(-20) }).toEqual({ code: 0, log: [] });
    }
  });
});

import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions, databaseUnreachableCause } from '@app/database';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(60_000);

const QUERY_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 500;
const POOL_SIZE = 3;
/** Slack for a loaded machine on top of the bound under test. */
const MARGIN_MS = 2500;

/** How long `work` took to settle, and its error. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await work;
    return { ms: performance.now() - started, error: undefined };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

/** The server pid behind each pool slot: every slot is checked out at once, so each is its own. */
async function backendPids(pool: Pool): Promise<number[]> {
  const clients = await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.connect()));
  try {
    return await Promise.all(
      clients.map(
        async (client) =>
          (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
      ),
    );
  } finally {
    for (const client of clients) client.release();
  }
}

describe('database calls are bounded on the client', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('snip_bounds');
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
    const config = loadConfig({
      SNIP_PROFILE: 'test',
      DATABASE_URL: proxy.rewrite(db.url),
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    });
    // The timeouts below are provoked: TypeORM's console logging of them would only be noise.
    dataSource = new DataSource({ ...buildDataSourceOptions(config.database), logging: false });
    await dataSource.initialize();
  });

  afterAll(async () => {
    proxy?.thaw();
    await dataSource?.destroy().catch(() => undefined);
    await proxy?.cut();
    await db?.drop();
  });

  it('fails queries on a frozen server within the query timeout, then recovers every pool slot', async () => {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    const before = await backendPids(pool);
    expect(new Set(before).size).toBe(POOL_SIZE);

    proxy.freeze();
    // Every pooled connection is lent to a query that gets no answer.
    const frozen = await Promise.all(
      Array.from({ length: POOL_SIZE }, () => timed(dataSource.query('SELECT 1'))),
    );
    for (const { ms, error } of frozen) {
      expect(String(error)).toContain('Query read timeout');
      expect(databaseUnreachableCause(error)).toBe('QUERY_TIMEOUT');
      expect(ms).toBeLessThan(QUERY_TIMEOUT_MS + MARGIN_MS);
    }
    // The timed-out connections are discarded, not lent again.
    await eventually(() => pool.totalCount === 0, { what: 'the pool to drop its clients' });

    // A new connection to the frozen server fails within the connect timeout.
    const connecting = await timed(dataSource.query('SELECT 1'));
    expect(databaseUnreachableCause(connecting.error)).toBeDefined();
    expect(connecting.ms).toBeLessThan(CONNECT_TIMEOUT_MS + MARGIN_MS);

    proxy.thaw();
    const after = await backendPids(pool);
    expect(new Set(after).size).toBe(POOL_SIZE);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  });
});

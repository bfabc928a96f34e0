import { randomBytes } from 'node:crypto';
import { Client, type QueryResultRow } from 'pg';

/** Where the tests find a PostgreSQL they may create databases on (trust auth on loopback). */
export const ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Runs one statement on the database at `url`, on a connection of its own; returns the rows. */
export async function query<T extends QueryResultRow = QueryResultRow>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a unique name; `drop` removes it, closing whatever is left. */
export async function createTestDatabase(prefix = 'snip_test'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await query(ADMIN_DATABASE_URL, `CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await query(ADMIN_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

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

/** The URL of the database `name` on the server of ADMIN_DATABASE_URL. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates an empty database with a unique name; `drop` removes it, closing whatever is left. */
export async function createTestDatabase(prefix = 'snip_test'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await query(ADMIN_DATABASE_URL, `CREATE DATABASE "${name}"`);
  return {
    url: databaseUrl(name),
    name,
    drop: async () => {
      await query(ADMIN_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * The environment variable through which the integration project's global setup tells its suites
 * the name of the run's migrated template database (see integration-setup.ts).
 */
export const TEMPLATE_DATABASE_ENV = 'SNIP_TEST_TEMPLATE_DATABASE';

/** Names of the databases cloned from `template` start with this (the teardown drops them all). */
export const clonePrefix = (template: string): string => `${template}_c`;

/**
 * A fresh database with the whole schema, cloned from the run's migrated template (`CREATE
 * DATABASE ... TEMPLATE` copies it; no migration runs again). Only in the integration project,
 * whose global setup makes the template.
 */
export async function createMigratedDatabase(): Promise<TestDatabase> {
  const template = process.env[TEMPLATE_DATABASE_ENV];
  if (!template) {
    throw new Error(
      `createMigratedDatabase: ${TEMPLATE_DATABASE_ENV} is not set; it works in the integration ` +
        'project, whose global setup (test/support/integration-setup.ts) migrates the template',
    );
  }
  const name = `${clonePrefix(template)}_${randomBytes(4).toString('hex')}`;
  await query(ADMIN_DATABASE_URL, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    url: databaseUrl(name),
    name,
    drop: async () => {
      await query(ADMIN_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

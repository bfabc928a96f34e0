import { ADMIN_DATABASE_URL, clonePrefix, query, TEMPLATE_DATABASE_ENV } from './database';

/**
 * Global teardown of the integration project: drops the run's template database and every clone
 * of it that a suite left behind (one that failed before its afterAll, say).
 */
export default async function integrationTeardown(): Promise<void> {
  const template = process.env[TEMPLATE_DATABASE_ENV];
  if (!template) return;
  const clones = await query<{ name: string }>(
    ADMIN_DATABASE_URL,
    `SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1)`,
    [clonePrefix(template)],
  );
  for (const name of [...clones.map((row) => row.name), template]) {
    await query(ADMIN_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
  delete process.env[TEMPLATE_DATABASE_ENV];
}

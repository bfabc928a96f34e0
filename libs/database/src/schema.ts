import { type DataSource, MigrationExecutor } from 'typeorm';

/** Any 64-bit number unique to snip's migrations; held as a transaction advisory lock while migrating. */
const MIGRATION_LOCK_KEY = '7243319847261149';

export class SchemaBehindError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(
      `The database schema is behind: ${pending.length} migration(s) pending (${pending.join(', ')}). ` +
        'Run `npm run migration:run` (the pre-deploy step) before starting snip.',
    );
    this.name = 'SchemaBehindError';
  }
}

/** Names of the migrations the database has not applied yet. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const executor = new MigrationExecutor(dataSource);
  return (await executor.getPendingMigrations()).map((m) => m.name);
}

/**
 * Applies pending migrations in one transaction that first takes a transaction-scoped advisory
 * lock, so that several processes starting at once (or a deploy step racing a local start) apply
 * each migration exactly once: the second waits for the first to commit, then finds nothing
 * pending. Transaction-scoped, so it works through a transaction-pooling PgBouncer too, where a
 * session lock would be taken on one server connection and released on another (see decision 39).
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner('master');
  await runner.connect();
  try {
    await runner.startTransaction();
    try {
      await runner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      const executor = new MigrationExecutor(dataSource, runner);
      // 'all' in the transaction already open: the executor neither begins nor commits it.
      executor.transaction = 'all';
      const applied = await executor.executePendingMigrations();
      await runner.commitTransaction();
      return applied.map((m) => m.name);
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  } finally {
    await runner.release();
  }
}

/** Reverts the most recently applied migration. */
export async function revertLastMigration(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner('master');
  await runner.connect();
  try {
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'all';
    await executor.undoLastMigration();
  } finally {
    await runner.release();
  }
}

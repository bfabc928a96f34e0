export { DataDirInUseError, lockDataDir } from './data-dir-lock';
export { buildDataSourceOptions, MIGRATIONS_TABLE } from './data-source';
export type { DataSourceBounds } from './data-source';
export { BoundedClient } from './bounded-client';
export { DatabaseModule } from './database.module';
export {
  DATABASE_RETRY_AFTER_SECONDS,
  databaseUnreachableCause,
  DatabaseReachability,
  DatabaseUnavailableError,
} from './outage';
export { startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { resolveDatabase } from './resolve';
export type { ResolvedDatabase } from './resolve';
export { pendingMigrations, revertLastMigration, runMigrations, SchemaBehindError } from './schema';

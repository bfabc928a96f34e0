export { DataDirInUseError, lockDataDir } from './data-dir-lock';
export { buildDataSourceOptions, MIGRATIONS_TABLE } from './data-source';
export { DatabaseModule } from './database.module';
export { startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { resolveDatabase } from './resolve';
export type { ResolvedDatabase } from './resolve';
export { pendingMigrations, revertLastMigration, runMigrations, SchemaBehindError } from './schema';

export { buildDataSourceOptions } from './data-source';
export { DatabaseModule } from './database.module';
export { databaseUnreachableCause, DatabaseReachability } from './outage';
export { ReplicaReads } from './replica-reads';
export { resolveDatabase } from './resolve';
export { pendingMigrations, revertLastMigration, runMigrations } from './schema';

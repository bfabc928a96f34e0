import type { DatabaseConfig } from '@app/config';
import type { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { MIGRATIONS } from './migrations';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;

export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * TypeORM options for snip's PostgreSQL: the primary for writes and, when replicas are configured,
 * the replicas for reads that tolerate lag. `url` must already point at a running server (the
 * embedded one included).
 */
export function buildDataSourceOptions(
  db: DatabaseConfig,
  entities: EntityList = [],
): DataSourceOptions {
  if (!db.url) throw new Error('buildDataSourceOptions needs database.url to be resolved first');
  // PGlite is one session: more than one connection would interleave protocol messages.
  const poolSize = db.mode === 'embedded' ? 1 : db.poolSize;
  const extra: Record<string, unknown> = {
    max: poolSize,
    connectionTimeoutMillis: db.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'snip',
  };
  if (db.statementTimeoutMs > 0) extra.statement_timeout = db.statementTimeoutMs;
  const common = {
    type: 'postgres' as const,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: false,
    logging: ['error' as const],
    extra,
  };
  if (db.replicaUrls.length > 0) {
    return {
      ...common,
      replication: {
        master: { url: db.url },
        slaves: db.replicaUrls.map((url) => ({ url })),
        defaultMode: 'master',
      },
    };
  }
  return { ...common, url: db.url };
}

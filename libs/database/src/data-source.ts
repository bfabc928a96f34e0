import type { DatabaseConfig } from '@app/config';
import type { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { BoundedClient } from './bounded-client';
import { MIGRATIONS } from './migrations';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;

const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * TypeORM options for snip's PostgreSQL: the primary for writes and, when replicas are configured,
 * the replicas for reads that tolerate lag. `url` must already point at a running server (the
 * embedded one included).
 */
export interface DataSourceBounds {
  /**
   * Leave queries unbounded on the client (the migration CLI: one migration may rightly run for
   * minutes). Connections still time out and use TCP keepalive.
   */
  readonly unboundedQueries?: boolean;
}

export function buildDataSourceOptions(
  db: DatabaseConfig,
  entities: EntityList = [],
  bounds: DataSourceBounds = {},
): DataSourceOptions {
  if (!db.url) throw new Error('buildDataSourceOptions needs database.url to be resolved first');
  // PGlite is one session: more than one connection would interleave protocol messages.
  const poolSize = db.mode === 'embedded' ? 1 : db.poolSize;
  const extra: Record<string, unknown> = {
    max: poolSize,
    connectionTimeoutMillis: db.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'snip',
    // A peer that vanished (host down, network cut) is noticed by the kernel, not after hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: db.keepAliveDelayMs,
    // Drops a client whose query timed out instead of lending it again (see bounded-client.ts).
    Client: BoundedClient,
  };
  // The client-side bound: a frozen server enforces no statement_timeout. Not for the embedded
  // database: PGlite runs on this process's own thread, so it cannot hang without the process.
  if (db.queryTimeoutMs > 0 && db.mode !== 'embedded' && !bounds.unboundedQueries) {
    extra.query_timeout = db.queryTimeoutMs;
  }
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

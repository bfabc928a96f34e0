import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { countQueries } from './bounded-client';
import { buildDataSourceOptions } from './data-source';
import { DatabaseReachability } from './outage';
import { ReplicaReads } from './replica-reads';
import { PinoTypeOrmLogger } from './typeorm-logger';
import { pendingMigrations, runMigrations, SchemaBehindError } from './schema';

/**
 * Before the app serves, makes sure the schema is current: applies pending migrations where the
 * profile allows it (DATABASE_MIGRATE_ON_BOOT), otherwise refuses to start while any are pending.
 */
@Injectable()
class SchemaGate implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: DatabaseConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.migrateOnBoot) {
      const applied = await runMigrations(this.dataSource);
      if (applied.length > 0) this.logger.info({ applied }, 'applied database migrations');
      return;
    }
    const pending = await pendingMigrations(this.dataSource);
    if (pending.length > 0) throw new SchemaBehindError(pending);
  }
}

/** The pools TypeORM made: the primary's and the replicas'. */
function poolsOf(dataSource: DataSource): { master?: Pool; slaves: Pool[] } {
  const driver = dataSource.driver as unknown as { master?: Pool; slaves?: Pool[] };
  return { master: driver.master, slaves: driver.slaves ?? [] };
}

/**
 * Counts the queries of each pool (`snip_db_queries_total{pool}`) and, while the primary is
 * unreachable, probes it (bounded by the query and connect timeouts) so that DatabaseReachability
 * logs the end of the outage even when no request comes. Replicas have their own probe
 * (ReplicaReads): one that is down does not keep the primary's outage open.
 */
@Injectable()
class PoolWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    private readonly reachability: DatabaseReachability,
  ) {
    const { master, slaves } = poolsOf(dataSource);
    if (master) countQueries(master, 'primary');
    for (const slave of slaves) countQueries(slave, 'replica');
  }

  onApplicationBootstrap(): void {
    const { master } = poolsOf(this.dataSource);
    if (master) this.reachability.watch(() => master.query('SELECT 1'));
  }

  beforeApplicationShutdown(): void {
    this.reachability.close();
  }
}

/**
 * The TypeORM connection to PostgreSQL (primary, plus read replicas when configured), with
 * entities registered by the feature modules through `TypeOrmModule.forFeature`.
 */
@Module({})
export class DatabaseModule {
  /**
   * `reachability`: the tracker the HTTP app's error translator reports to, so the outage is logged
   * once per change of state; one of its own when not given.
   */
  static forRoot(reachability?: DatabaseReachability): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [DatabaseConfig, ROOT_LOGGER],
          useFactory: (db: DatabaseConfig, logger: Logger) => ({
            ...buildDataSourceOptions(db),
            logger: new PinoTypeOrmLogger(logger),
            autoLoadEntities: true,
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [
        SchemaGate,
        PoolWatch,
        ReplicaReads,
        {
          provide: DatabaseReachability,
          inject: [ROOT_LOGGER],
          useFactory: (logger: Logger) => reachability ?? new DatabaseReachability(logger),
        },
      ],
      exports: [DatabaseReachability, ReplicaReads],
    };
  }
}

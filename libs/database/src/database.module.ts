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
import { buildDataSourceOptions } from './data-source';
import { DatabaseReachability } from './outage';
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

/** The pools TypeORM made for the primary and the replicas. */
function poolsOf(dataSource: DataSource): Pool[] {
  const driver = dataSource.driver as unknown as { master?: Pool; slaves?: Pool[] };
  return [driver.master, ...(driver.slaves ?? [])].filter((pool) => pool !== undefined);
}

/**
 * While the database is unreachable, probes every pool (bounded by the query and connect timeouts)
 * so that DatabaseReachability logs the end of the outage even when no request comes.
 */
@Injectable()
class PoolWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    private readonly reachability: DatabaseReachability,
  ) {}

  onApplicationBootstrap(): void {
    const pools = poolsOf(this.dataSource);
    this.reachability.watch(() => Promise.all(pools.map((pool) => pool.query('SELECT 1'))));
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
        {
          provide: DatabaseReachability,
          inject: [ROOT_LOGGER],
          useFactory: (logger: Logger) => reachability ?? new DatabaseReachability(logger),
        },
      ],
      exports: [DatabaseReachability],
    };
  }
}

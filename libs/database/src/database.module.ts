import { DynamicModule, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source';
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

/**
 * The TypeORM connection to PostgreSQL (primary, plus read replicas when configured), with
 * entities registered by the feature modules through `TypeOrmModule.forFeature`.
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [DatabaseConfig],
          useFactory: (db: DatabaseConfig) => ({
            ...buildDataSourceOptions(db),
            autoLoadEntities: true,
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [SchemaGate],
    };
  }
}

import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { ClickHouseConfig, DatabaseConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { ClickHouseClicks, ClickHouseSchemaBehindError } from './clickhouse-clicks';

/**
 * ClickHouseClicks when CLICKS_SINK=clickhouse, null otherwise (or when the app did not read the
 * `clickhouse` namespace).
 */
export const clickHouseProvider: Provider = {
  provide: ClickHouseClicks,
  useFactory: (config?: ClickHouseConfig) =>
    config?.sink === 'clickhouse' ? new ClickHouseClicks(config) : null,
  inject: [{ token: ClickHouseConfig, optional: true }],
};

/**
 * Before the app serves, makes sure ClickHouse's schema is current, as the PostgreSQL schema gate
 * does: applies pending migrations where DATABASE_MIGRATE_ON_BOOT allows it, otherwise refuses to
 * start while any are pending. Closes the client on shutdown.
 */
@Injectable()
export class ClickHouseGate implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Optional() @Inject(ClickHouseClicks) private readonly clickhouse: ClickHouseClicks | null,
    @Optional() @Inject(DatabaseConfig) private readonly database: DatabaseConfig | undefined,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.clickhouse) return;
    if (this.database?.migrateOnBoot) {
      const applied = await this.clickhouse.migrate();
      if (applied.length > 0) this.logger.info({ applied }, 'applied ClickHouse migrations');
      return;
    }
    const pending = await this.clickhouse.pendingMigrations();
    if (pending.length > 0) throw new ClickHouseSchemaBehindError(pending);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.clickhouse?.close();
  }
}

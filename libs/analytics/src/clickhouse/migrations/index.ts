import { createClicks } from './001-create-clicks';
import type { ClickHouseMigration } from './migration';

export type { ClickHouseMigration } from './migration';

/** Every ClickHouse migration, oldest first. A new migration file is added here as well. */
export const CLICKHOUSE_MIGRATIONS: readonly ClickHouseMigration[] = [createClicks];

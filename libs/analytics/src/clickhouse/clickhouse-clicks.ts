import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConfig } from '@app/config';
import type { ClickRow } from '../enrichment';
import type { Breakdown, BreakdownRow, DailyClicks } from '../stats.repository';
import type { DroppedDay, RawClickStore } from '../retention';
import { CLICKHOUSE_MIGRATIONS, type ClickHouseMigration } from './migrations';
import { toClickHouseRow } from './rows';
import { dateTimeLiteral, identifier, linkIdLiteral } from './sql';

export class ClickHouseSchemaBehindError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(
      `The ClickHouse schema is behind: ${pending.length} migration(s) pending (${pending.join(', ')}). ` +
        'Run `npm run cli -- clickhouse:migrate` (the pre-deploy step) before starting snip.',
    );
    this.name = 'ClickHouseSchemaBehindError';
  }
}

/**
 * snip's ClickHouse: the `clicks` table (wide, enriched rows), its migrations and the stats read
 * from it, over the official client (@clickhouse/client, HTTP). Every request is bounded by
 * CLICKHOUSE_TIMEOUT_MS. Tables are named with their database, so the database need not exist
 * before `migrate` creates it.
 */
export class ClickHouseClicks implements RawClickStore {
  readonly name = 'clickhouse';
  private readonly client: ClickHouseClient;
  private readonly db: string;

  constructor(
    config: Pick<ClickHouseConfig, 'url' | 'database' | 'user' | 'password' | 'timeoutMs'>,
    private readonly migrations: readonly ClickHouseMigration[] = CLICKHOUSE_MIGRATIONS,
  ) {
    this.db = identifier(config.database);
    this.client = createClient({
      url: config.url,
      username: config.user,
      password: config.password ?? '',
      request_timeout: config.timeoutMs,
      // Failures reach the caller, which logs them (and retries) through snip's own logger.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  /** Inserts the enriched rows; a row already there is stored again and counted once (uniqExact). */
  async insert(rows: readonly ClickRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({
      table: `${this.db}.\`clicks\``,
      values: rows.map(toClickHouseRow),
      format: 'JSONEachRow',
    });
  }

  /** Names of the migrations not applied yet (all of them when the database is missing). */
  async pendingMigrations(): Promise<string[]> {
    const exists = await this.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM system.tables
        WHERE database = '${this.db.slice(1, -1)}' AND name = 'snip_migrations'`,
    );
    if (Number(exists[0]?.n ?? 0) === 0) return this.migrations.map((m) => m.name);
    const applied = new Set(
      (
        await this.rows<{ name: string }>(
          `SELECT DISTINCT name FROM ${this.db}.\`snip_migrations\``,
        )
      ).map((r) => r.name),
    );
    return this.migrations.filter((m) => !applied.has(m.name)).map((m) => m.name);
  }

  /**
   * Creates the database and applies pending migrations in order, recording each in
   * `snip_migrations`. ClickHouse has no transactions or locks: every statement is idempotent
   * (IF NOT EXISTS), so two processes migrating at once both succeed and the record may hold a
   * name twice, which is read as one.
   */
  async migrate(): Promise<string[]> {
    await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.db}` });
    await this.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.db}.\`snip_migrations\` (
                name String, applied_at DateTime('UTC')
              ) ENGINE = MergeTree() ORDER BY name`,
    });
    const pending = new Set(await this.pendingMigrations());
    const applied: string[] = [];
    for (const migration of this.migrations.filter((m) => pending.has(m.name))) {
      for (const query of migration.up(this.db)) await this.client.command({ query });
      await this.client.insert({
        table: `${this.db}.\`snip_migrations\``,
        values: [{ name: migration.name, applied_at: Math.floor(Date.now() / 1000) }],
        format: 'JSONEachRow',
      });
      applied.push(migration.name);
    }
    return applied;
  }

  /**
   * Clicks of `linkId` in [from, to) by referrer host, country, browser, OS and device type: one
   * scan, each row ARRAY JOINed into its five (dimension, value) pairs (18.16 has no GROUPING
   * SETS). Distinct event ids are counted, so duplicates not yet merged count once.
   */
  async breakdowns(
    linkId: string,
    from: Date,
    to: Date,
    includeBots: boolean,
  ): Promise<BreakdownRow[]> {
    const rows = await this.rows<{ dimension: Breakdown; value: string | null; clicks: string }>(
      `SELECT pair.1 AS dimension, pair.2 AS value, toString(uniqExact(id)) AS clicks
         FROM ${this.db}.\`clicks\`
        ARRAY JOIN [
          ('referrers', referrer_host), ('countries', country), ('browsers', browser),
          ('os', os), ('devices', toNullable(device_type))
        ] AS pair
        WHERE link_id = ${linkIdLiteral(linkId)}
          AND occurred_at >= ${dateTimeLiteral(from)} AND occurred_at < ${dateTimeLiteral(to)}
          ${includeBots ? '' : 'AND is_bot = 0'}
        GROUP BY dimension, value`,
    );
    return rows.map((r) => ({ dimension: r.dimension, value: r.value, clicks: Number(r.clicks) }));
  }

  /**
   * Distinct clicks and visitors of `linkId` per UTC day from `fromDay` to `toDay` inclusive, as
   * the PostgreSQL rollups hold them; what the comparison test holds the two stores to. A visitor
   * counts as human here when any of its clicks is (the rollups decide on its first batch: the two
   * differ only for a visitor whose clicks were both, such as a HEAD and then a GET).
   */
  async dailyClicks(linkId: string, fromDay: string, toDay: string): Promise<DailyClicks[]> {
    const from = new Date(`${fromDay}T00:00:00Z`);
    const to = new Date(Date.parse(`${toDay}T00:00:00Z`) + 86_400_000);
    const rows = await this.rows<{
      day: string;
      total: string;
      human: string;
      visitors: string;
      human_visitors: string;
    }>(
      `SELECT toString(toDate(occurred_at)) AS day,
              toString(uniqExact(id)) AS total,
              toString(uniqExactIf(id, is_bot = 0)) AS human,
              toString(uniqExactIf(visitor, visitor != '')) AS visitors,
              toString(uniqExactIf(visitor, visitor != '' AND is_bot = 0)) AS human_visitors
         FROM ${this.db}.\`clicks\`
        WHERE link_id = ${linkIdLiteral(linkId)}
          AND occurred_at >= ${dateTimeLiteral(from)} AND occurred_at < ${dateTimeLiteral(to)}
        GROUP BY day
        ORDER BY day`,
    );
    return rows.map((r) => ({
      day: r.day,
      total: Number(r.total),
      human: Number(r.human),
      visitors: Number(r.visitors),
      humanVisitors: Number(r.human_visitors),
    }));
  }

  /**
   * Drops the day partitions of `clicks` (PARTITION BY toYYYYMMDD(occurred_at)) of days before
   * `day`; with `dryRun`, only lists them. Retention's ClickHouse store (see RawClickStore).
   */
  async dropDaysBefore(
    day: string,
    options: { readonly dryRun?: boolean } = {},
  ): Promise<DroppedDay[]> {
    const cutoff = Number(day.replaceAll('-', ''));
    const parts = await this.rows<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts
        WHERE database = '${this.db.slice(1, -1)}' AND table = 'clicks' AND active
        ORDER BY partition`,
    );
    const dropped: DroppedDay[] = [];
    for (const { partition } of parts) {
      if (!/^\d{8}$/.test(partition) || Number(partition) >= cutoff) continue;
      if (!options.dryRun) {
        await this.client.command({
          query: `ALTER TABLE ${this.db}.\`clicks\` DROP PARTITION ${partition}`,
        });
      }
      dropped.push({
        table: 'clicks',
        day: `${partition.slice(0, 4)}-${partition.slice(4, 6)}-${partition.slice(6, 8)}`,
      });
    }
    return dropped;
  }

  /** Stored rows of `clicks`, duplicates included (for tests and operators). */
  async storedRows(linkId: string): Promise<number> {
    const rows = await this.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${this.db}.\`clicks\` WHERE link_id = ${linkIdLiteral(linkId)}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Drops the database (tests). */
  async dropDatabase(): Promise<void> {
    await this.client.command({ query: `DROP DATABASE IF EXISTS ${this.db}` });
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()).success;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private async rows<T>(query: string): Promise<T[]> {
    const result = await this.client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }
}

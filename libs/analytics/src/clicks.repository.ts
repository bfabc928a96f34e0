import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { ClickRow } from './enrichment';

/** Columns of one insert, in the order of the unnest() arrays. */
const COLUMNS = [
  ['id', 'uuid'],
  ['occurred_at', 'timestamptz'],
  ['link_id', 'bigint'],
  ['code', 'text'],
  ['method', 'text'],
  ['ip', 'text'],
  ['user_agent', 'text'],
  ['referrer', 'text'],
  ['referrer_host', 'text'],
  ['accept_language', 'text'],
  ['country', 'text'],
  ['browser', 'text'],
  ['os', 'text'],
  ['device_type', 'text'],
  ['is_bot', 'boolean'],
] as const;

const names = COLUMNS.map(([name]) => `"${name}"`).join(', ');
const arrays = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');

/**
 * One statement, so one transaction: the rows go in, those already stored (same id, so same day)
 * are skipped, and only the rows that really went in are added to the daily rollups and to each
 * link's total (`link_click_totals`, the `clicks` of the link resource: written behind, one
 * statement per batch, never an UPDATE per click). A redelivered batch therefore changes nothing.
 * Clicks are inserted in id order, rollup rows upserted in key order, and totals, once every
 * rollup is done (`totalled` reads `rolled`), in link-id order: two workers storing the same
 * events at once (a redelivery while the first is still committing) wait for each other's keys in
 * one order, never in a cycle. Without the ORDER BYs, such batches deadlock
 * (test/integration/clicks.repository.spec.ts).
 */
const INSERT_CLICKS = `
  WITH inserted AS (
    INSERT INTO "clicks" (${names})
    SELECT * FROM unnest(${arrays}) ORDER BY 1
    ON CONFLICT DO NOTHING
    RETURNING "link_id", "occurred_at", "is_bot"
  ), rolled AS (
    INSERT INTO "click_daily_rollups" AS r ("link_id", "day", "total", "human")
    SELECT "link_id", ("occurred_at" AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE NOT "is_bot")
      FROM inserted
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT ("link_id", "day") DO UPDATE
      SET "total" = r."total" + EXCLUDED."total", "human" = r."human" + EXCLUDED."human"
    RETURNING 1
  ), totalled AS (
    INSERT INTO "link_click_totals" AS t ("link_id", "clicks")
    SELECT "link_id", count(*)
      FROM inserted
     WHERE (SELECT count(*) FROM rolled) > 0
     GROUP BY 1
     ORDER BY 1
    ON CONFLICT ("link_id") DO UPDATE SET "clicks" = t."clicks" + EXCLUDED."clicks"
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM inserted)::int AS inserted`;

const utcDay = (iso: string): string => iso.slice(0, 10);

/** SQLSTATE check_violation, which an insert into a partitioned table without a fitting partition raises. */
const NO_PARTITION = '23514';

/** Writes clicks and their rollups, and keeps the day partitions ahead of them. */
@Injectable()
export class ClicksRepository {
  /** Days whose partition is known to exist. */
  private readonly partitions = new Set<string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts `rows`, skipping ids already stored, and adds the new ones to the rollups and the
   * links' totals in the same statement. Returns how many rows were new.
   */
  async insertClicksIgnoringDuplicates(rows: readonly ClickRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    await this.ensurePartitions(rows.map((row) => utcDay(row.occurredAt)));
    const params = [
      rows.map((r) => r.id),
      rows.map((r) => r.occurredAt),
      rows.map((r) => r.linkId),
      rows.map((r) => r.code),
      rows.map((r) => r.method),
      rows.map((r) => r.ip),
      rows.map((r) => r.userAgent),
      rows.map((r) => r.referrer),
      rows.map((r) => r.referrerHost),
      rows.map((r) => r.acceptLanguage),
      rows.map((r) => r.country),
      rows.map((r) => r.browser),
      rows.map((r) => r.os),
      rows.map((r) => r.deviceType),
      rows.map((r) => r.isBot),
    ];
    try {
      const result: { inserted: number }[] = await this.dataSource.query(INSERT_CLICKS, params);
      return result[0]?.inserted ?? 0;
    } catch (error) {
      // "no partition of relation found for row": a day this process knew was dropped since (by
      // retention with fewer days than this process keeps); forget them all, the retry re-checks.
      if ((error as { code?: unknown }).code === NO_PARTITION) this.partitions.clear();
      throw error;
    }
  }

  /** Makes sure the partitions of `days` (YYYY-MM-DD, UTC) exist. */
  async ensurePartitions(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((day) => !this.partitions.has(day));
    for (const day of missing) {
      await this.dataSource.query(`SELECT "snip_ensure_click_partition"($1::date)`, [day]);
      this.partitions.add(day);
    }
  }
}

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
/** The visitor ids (hex, or null) come after the columns' arrays, in the same order. */
const VISITOR_PARAM = COLUMNS.length + 1;

/**
 * One statement, so one transaction: the rows go in, those already stored (same id, so same day)
 * are skipped, and only the rows that really went in count: their visitors (a keyed hash of the
 * day, see visitors.ts) go into that day's set (`click_daily_visitors`, skipping those already in
 * it), and the clicks and the visitors new to the set are added to the daily rollups and the
 * clicks to each link's total (`link_click_totals`, the `clicks` of the link resource: written
 * behind, one statement per batch, never an UPDATE per click). A redelivered batch therefore
 * changes nothing, and a visitor counts once per link and day however many clicks and batches
 * bring it. A visitor is human when one of its clicks in the first batch that brings it is.
 * Clicks are inserted in id order, visitors in key order, rollup rows upserted in key order once
 * every visitor is in (`rolled` reads `visited`), and totals, once every rollup is done
 * (`totalled` reads `rolled`), in link-id order: two workers storing the same events or the same
 * visitors at once (a redelivery while the first is still committing) wait for each other's keys
 * in one order, table after table, never in a cycle. Without the ORDER BYs, such batches deadlock
 * (test/integration/clicks.repository.spec.ts).
 */
const INSERT_CLICKS = `
  WITH inserted AS (
    INSERT INTO "clicks" (${names})
    SELECT * FROM unnest(${arrays}) ORDER BY 1
    ON CONFLICT DO NOTHING
    RETURNING "id", "link_id", "occurred_at", "is_bot"
  ), visited AS (
    INSERT INTO "click_daily_visitors" ("link_id", "day", "visitor", "is_bot")
    SELECT i."link_id", (i."occurred_at" AT TIME ZONE 'UTC')::date, decode(v."visitor", 'hex'), bool_and(i."is_bot")
      FROM inserted i
      JOIN unnest($1::uuid[], $${VISITOR_PARAM}::text[]) AS v("id", "visitor") ON v."id" = i."id"
     WHERE v."visitor" IS NOT NULL
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
    RETURNING "link_id", "day", "is_bot"
  ), rolled AS (
    INSERT INTO "click_daily_rollups" AS r ("link_id", "day", "total", "human", "visitors", "human_visitors")
    SELECT c."link_id", c."day", c."total", c."human", COALESCE(v."visitors", 0), COALESCE(v."human_visitors", 0)
      FROM (SELECT "link_id", ("occurred_at" AT TIME ZONE 'UTC')::date AS "day", count(*) AS "total",
                   count(*) FILTER (WHERE NOT "is_bot") AS "human"
              FROM inserted
             GROUP BY 1, 2) c
      LEFT JOIN (SELECT "link_id", "day", count(*) AS "visitors",
                        count(*) FILTER (WHERE NOT "is_bot") AS "human_visitors"
                   FROM visited
                  GROUP BY 1, 2) v ON v."link_id" = c."link_id" AND v."day" = c."day"
     ORDER BY 1, 2
    ON CONFLICT ("link_id", "day") DO UPDATE
      SET "total" = r."total" + EXCLUDED."total", "human" = r."human" + EXCLUDED."human",
          "visitors" = r."visitors" + EXCLUDED."visitors",
          "human_visitors" = r."human_visitors" + EXCLUDED."human_visitors"
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
      rows.map((r) => r.visitorId),
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

  /** Makes sure the partitions of `days` (YYYY-MM-DD, UTC) exist, clicks' and visitors'. */
  async ensurePartitions(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((day) => !this.partitions.has(day));
    for (const day of missing) {
      await this.dataSource.query(`SELECT "snip_ensure_click_partition"($1::date)`, [day]);
      this.partitions.add(day);
    }
  }
}

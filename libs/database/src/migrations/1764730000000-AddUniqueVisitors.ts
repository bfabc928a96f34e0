import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Unique visitors (decision 51). A visitor is a keyed hash of the anonymised address and the user
 * agent under a salt of the click's UTC day (`visitor_salts`, one random salt a day, deleted by the
 * worker once the day is past the window for late events). `click_daily_visitors` is the exact set
 * of each link's visitors per day, partitioned by day like `clicks` (the same function creates both
 * partitions, `click_daily_visitors_YYYYMMDD` beside `clicks_YYYYMMDD`); the statement that stores
 * a batch adds the visitors it really inserted to `click_daily_rollups.visitors` and
 * `human_visitors`. Days stored before this migration count no visitors: their salts never
 * existed.
 */
export class AddUniqueVisitors1764730000000 implements MigrationInterface {
  name = 'AddUniqueVisitors1764730000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "visitor_salts" (
        "day"  date  NOT NULL,
        "salt" bytea NOT NULL,
        CONSTRAINT "visitor_salts_pkey" PRIMARY KEY ("day")
      )`);
    await q.query(`
      CREATE TABLE "click_daily_visitors" (
        "link_id" bigint  NOT NULL,
        "day"     date    NOT NULL,
        "visitor" bytea   NOT NULL,
        "is_bot"  boolean NOT NULL,
        CONSTRAINT "click_daily_visitors_pkey" PRIMARY KEY ("link_id", "day", "visitor")
      ) PARTITION BY RANGE ("day")`);
    await q.query(`
      ALTER TABLE "click_daily_rollups"
        ADD COLUMN "visitors"       integer NOT NULL DEFAULT 0,
        ADD COLUMN "human_visitors" integer NOT NULL DEFAULT 0`);
    // Now both partitions of a day: clicks_YYYYMMDD and click_daily_visitors_YYYYMMDD.
    await q.query(`
      CREATE OR REPLACE FUNCTION "snip_ensure_click_partition"(p_day date) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        suffix text := to_char(p_day, 'YYYYMMDD');
        parent text;
      BEGIN
        FOREACH parent IN ARRAY ARRAY['clicks', 'click_daily_visitors'] LOOP
          IF to_regclass(quote_ident(parent || '_' || suffix)) IS NULL THEN
            BEGIN
              IF parent = 'clicks' THEN
                EXECUTE format(
                  'CREATE TABLE IF NOT EXISTS %I PARTITION OF "clicks" FOR VALUES FROM (%L) TO (%L)',
                  parent || '_' || suffix,
                  to_char(p_day, 'YYYY-MM-DD') || ' 00:00:00+00',
                  to_char(p_day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
              ELSE
                EXECUTE format(
                  'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                  parent || '_' || suffix,
                  parent,
                  to_char(p_day, 'YYYY-MM-DD'),
                  to_char(p_day + 1, 'YYYY-MM-DD'));
              END IF;
            EXCEPTION WHEN duplicate_table OR unique_violation THEN
              NULL; -- another worker created it at the same moment
            END;
          END IF;
        END LOOP;
      END
      $fn$`);
    // The visitor partitions of every day that has a clicks partition already.
    await q.query(`
      SELECT "snip_ensure_click_partition"(to_date(right(c.relname, 8), 'YYYYMMDD'))
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '"clicks"'::regclass AND c.relname ~ '^clicks_[0-9]{8}$'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION "snip_ensure_click_partition"(p_day date) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        part text := 'clicks_' || to_char(p_day, 'YYYYMMDD');
      BEGIN
        IF to_regclass(quote_ident(part)) IS NOT NULL THEN
          RETURN;
        END IF;
        EXECUTE format(
          'CREATE TABLE IF NOT EXISTS %I PARTITION OF "clicks" FOR VALUES FROM (%L) TO (%L)',
          part,
          to_char(p_day, 'YYYY-MM-DD') || ' 00:00:00+00',
          to_char(p_day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
      EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL; -- another worker created it at the same moment
      END
      $fn$`);
    await q.query(
      `ALTER TABLE "click_daily_rollups" DROP COLUMN "visitors", DROP COLUMN "human_visitors"`,
    );
    await q.query(`DROP TABLE "click_daily_visitors"`);
    await q.query(`DROP TABLE "visitor_salts"`);
  }
}

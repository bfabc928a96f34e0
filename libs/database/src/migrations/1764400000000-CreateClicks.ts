import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Click storage: `clicks` partitioned by day (UTC) on `occurred_at`, and daily rollups per link.
 *
 * The primary key is (id, occurred_at), since a unique constraint on a partitioned table must hold
 * the partition key. It is as strong as a key on `id` alone because `occurred_at` is a function of
 * `id`: the event id is a UUIDv7 whose timestamp is the click's time (the pipeline refuses an event
 * whose `ts` differs), so a redelivered event lands on the same partition with the same key and
 * ON CONFLICT DO NOTHING skips it.
 */
export class CreateClicks1764400000000 implements MigrationInterface {
  name = 'CreateClicks1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "clicks" (
        "id"              uuid         NOT NULL,
        "occurred_at"     timestamptz  NOT NULL,
        "link_id"         bigint       NOT NULL,
        "code"            varchar(64)  NOT NULL,
        "method"          varchar(8)   NOT NULL,
        "ip"              varchar(64),
        "user_agent"      text,
        "referrer"        text,
        "referrer_host"   varchar(255),
        "accept_language" varchar(256),
        "country"         varchar(2),
        "browser"         varchar(64),
        "os"              varchar(64),
        "device_type"     varchar(32)  NOT NULL,
        "is_bot"          boolean      NOT NULL,
        "received_at"     timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT "clicks_pkey" PRIMARY KEY ("id", "occurred_at")
      ) PARTITION BY RANGE ("occurred_at")`);
    await q.query(
      `CREATE INDEX "clicks_link_id_occurred_at_idx" ON "clicks" ("link_id", "occurred_at")`,
    );
    await q.query(`
      CREATE TABLE "click_daily_rollups" (
        "link_id" bigint NOT NULL,
        "day"     date   NOT NULL,
        "total"   bigint NOT NULL DEFAULT 0,
        "human"   bigint NOT NULL DEFAULT 0,
        CONSTRAINT "click_daily_rollups_pkey" PRIMARY KEY ("link_id", "day")
      )`);
    // Creates the partition of one UTC day unless it exists; safe to call from several workers.
    await q.query(`
      CREATE FUNCTION "snip_ensure_click_partition"(p_day date) RETURNS void
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
      `SELECT "snip_ensure_click_partition"(d::date)
         FROM generate_series(current_date - 1, current_date + 7, interval '1 day') AS d`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "clicks"`);
    await q.query(`DROP FUNCTION "snip_ensure_click_partition"(date)`);
    await q.query(`DROP TABLE "click_daily_rollups"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Visit counts: `links.max_clicks` (a cap on redirects, null for none) and `link_click_totals`,
 * each link's total clicks, written behind by the logs worker in the statement that stores a
 * batch (libs/analytics clicks.repository.ts). The totals live in a table of their own (decision
 * 41): the worker upserts them in link-id order, so that concurrent batches lock them in one order
 * (an UPDATE ... FROM on `links` has no such order), the hot `links` rows are left alone, and a
 * list sorted by clicks walks one index. A trigger gives every new link its row (0), so that the
 * table and `links` stay one to one and the sorted list needs no outer join.
 */
export class AddVisitCounts1764600000000 implements MigrationInterface {
  name = 'AddVisitCounts1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "links" ADD COLUMN "max_clicks" integer CONSTRAINT "links_max_clicks_check" CHECK ("max_clicks" > 0)`,
    );
    await q.query(`
      CREATE TABLE "link_click_totals" (
        "link_id" bigint NOT NULL,
        "clicks"  bigint NOT NULL DEFAULT 0,
        CONSTRAINT "link_click_totals_pkey" PRIMARY KEY ("link_id")
      )`);
    // Batches stored meanwhile wait for this transaction, so none is missed by the backfill (a
    // worker that predates this migration keeps adding to rollups only: upgrade workers with it).
    await q.query(`LOCK TABLE "click_daily_rollups" IN SHARE MODE`);
    await q.query(`
      INSERT INTO "link_click_totals" ("link_id", "clicks")
      SELECT l."id", COALESCE(r."clicks", 0)
        FROM "links" l
        LEFT JOIN (SELECT "link_id", sum("total") AS "clicks" FROM "click_daily_rollups" GROUP BY 1) r
          ON r."link_id" = l."id"
       ORDER BY 1`);
    await q.query(
      `CREATE INDEX "link_click_totals_clicks_link_id_idx" ON "link_click_totals" ("clicks" DESC, "link_id" DESC)`,
    );
    await q.query(`
      CREATE FUNCTION "snip_link_click_total_row"() RETURNS trigger
      LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO "link_click_totals" ("link_id") VALUES (NEW."id") ON CONFLICT DO NOTHING;
        RETURN NULL;
      END
      $fn$`);
    await q.query(`
      CREATE TRIGGER "links_click_total_row" AFTER INSERT ON "links"
        FOR EACH ROW EXECUTE FUNCTION "snip_link_click_total_row"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "links_click_total_row" ON "links"`);
    await q.query(`DROP FUNCTION "snip_link_click_total_row"()`);
    await q.query(`DROP TABLE "link_click_totals"`);
    await q.query(`ALTER TABLE "links" DROP COLUMN "max_clicks"`);
  }
}

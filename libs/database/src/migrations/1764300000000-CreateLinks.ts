import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLinks1764300000000 implements MigrationInterface {
  name = 'CreateLinks1764300000000';

  async up(q: QueryRunner): Promise<void> {
    // Link ids come from this sequence in blocks; a keyed permutation turns each id into its code.
    await q.query(`CREATE SEQUENCE "link_id_seq" AS bigint START WITH 1 MINVALUE 1 NO CYCLE`);
    await q.query(`
      CREATE TABLE "links" (
        "id"            bigint       NOT NULL,
        "code"          varchar(64)  NOT NULL,
        "url"           text         NOT NULL,
        "is_custom"     boolean      NOT NULL DEFAULT false,
        "redirect_type" smallint     NOT NULL DEFAULT 302,
        "expires_at"    timestamptz,
        "disabled"      boolean      NOT NULL DEFAULT false,
        "created_at"    timestamptz  NOT NULL DEFAULT now(),
        "updated_at"    timestamptz  NOT NULL DEFAULT now(),
        "deleted_at"    timestamptz,
        CONSTRAINT "links_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "links_redirect_type_check" CHECK ("redirect_type" IN (301, 302, 307, 308))
      )`);
    // Deleted links keep their row (deleted_at set), so a code is never handed out twice.
    await q.query(`CREATE UNIQUE INDEX "links_code_key" ON "links" ("code")`);
    await q.query(
      `CREATE INDEX "links_created_at_id_idx" ON "links" ("created_at" DESC, "id" DESC) WHERE "deleted_at" IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "links"`);
    await q.query(`DROP SEQUENCE "link_id_seq"`);
  }
}

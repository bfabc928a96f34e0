import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiKeys1764500000000 implements MigrationInterface {
  name = 'CreateApiKeys1764500000000';

  async up(q: QueryRunner): Promise<void> {
    // Only the SHA-256 of a key is stored; the key itself is shown once, at creation.
    await q.query(`
      CREATE TABLE "api_keys" (
        "id"          uuid         NOT NULL DEFAULT gen_random_uuid(),
        "name"        varchar(100) NOT NULL,
        "role"        varchar(16)  NOT NULL,
        "key_hash"    char(64)     NOT NULL,
        "key_prefix"  varchar(16)  NOT NULL,
        "expires_at"  timestamptz,
        "revoked_at"  timestamptz,
        "created_at"  timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "api_keys_role_check" CHECK ("role" IN ('admin', 'user'))
      )`);
    await q.query(`CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys" ("key_hash")`);
    await q.query(
      `ALTER TABLE "links" ADD COLUMN "owner_key_id" uuid REFERENCES "api_keys" ("id")`,
    );
    // A user key lists its own links, newest first.
    await q.query(
      `CREATE INDEX "links_owner_created_at_id_idx" ON "links" ("owner_key_id", "created_at" DESC, "id" DESC) WHERE "deleted_at" IS NULL AND "owner_key_id" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "links_owner_created_at_id_idx"`);
    await q.query(`ALTER TABLE "links" DROP COLUMN "owner_key_id"`);
    await q.query(`DROP TABLE "api_keys"`);
  }
}

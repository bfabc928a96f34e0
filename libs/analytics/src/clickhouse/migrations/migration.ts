/** One ClickHouse schema change: idempotent statements, run in order. */
export interface ClickHouseMigration {
  /** Unique and sortable: the migrations run in the order of MIGRATIONS, recorded by name. */
  readonly name: string;
  /** The statements, given the quoted database name. Each must be safe to run twice. */
  readonly up: (db: string) => readonly string[];
}

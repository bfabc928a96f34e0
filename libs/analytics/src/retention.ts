/**
 * Retention of raw clicks: which days are expired, and which tables are day partitions. Pure; the
 * I/O is in click-partitions.repository.ts (PostgreSQL) and in each other raw store.
 */

const DAY_MS = 86_400_000;

/** One day of raw clicks a store dropped (or, in a dry run, would drop). */
export interface DroppedDay {
  /** The partitioned table, such as `clicks`. */
  readonly table: string;
  /** The UTC day, YYYY-MM-DD. */
  readonly day: string;
}

/**
 * A store of raw clicks partitioned by UTC day, whose old days can be dropped whole: the
 * PostgreSQL `clicks` table (and its kin), a ClickHouse table partitioned by day.
 */
export interface RawClickStore {
  /** For logs: `postgres`, `clickhouse`. */
  readonly name: string;
  /**
   * Drops every day partition of a day before `day` (YYYY-MM-DD, UTC), never `day` itself or a
   * later one; with `dryRun`, only lists them. Returns the days dropped (or that would be).
   */
  dropDaysBefore(day: string, options?: { readonly dryRun?: boolean }): Promise<DroppedDay[]>;
}

/**
 * The first day kept when raw clicks are kept `days` days: today (UTC) minus `days`, YYYY-MM-DD.
 * Every day before it is expired: the whole of it is more than `days` days old. Today is never
 * expired. `undefined` when `days` is 0 (kept forever).
 */
export function retentionCutoff(days: number, now: Date): string | undefined {
  if (!Number.isInteger(days) || days < 0) throw new RangeError(`bad retention days: ${days}`);
  if (days === 0) return undefined;
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return new Date(today - days * DAY_MS).toISOString().slice(0, 10);
}

/** Whether a click of `occurredAt` (ISO 8601, UTC) is on a day before `cutoff` (YYYY-MM-DD). */
export function isExpired(occurredAt: string, cutoff: string | undefined): boolean {
  return cutoff !== undefined && occurredAt.slice(0, 10) < cutoff;
}

/**
 * The UTC day (YYYY-MM-DD) of which the table `name` is the partition of `parent`, or undefined
 * if it is anything else. Both must hold: the name is `<parent>_YYYYMMDD` of a real date, and the
 * bound (pg_get_expr of relpartbound, read with TimeZone UTC) is exactly that day, as a range of
 * timestamptz (`clicks`) or of date.
 */
export function dayOfPartition(parent: string, name: string, bound: string): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(
    name.startsWith(`${parent}_`) ? name.slice(parent.length + 1) : '',
  );
  if (!match) return undefined;
  const day = `${match[1]}-${match[2]}-${match[3]}`;
  const start = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== day) return undefined;
  const next = new Date(start + DAY_MS).toISOString().slice(0, 10);
  const asTimestamps = `FOR VALUES FROM ('${day} 00:00:00+00') TO ('${next} 00:00:00+00')`;
  const asDates = `FOR VALUES FROM ('${day}') TO ('${next}')`;
  return bound === asTimestamps || bound === asDates ? day : undefined;
}

import type { ClickRow } from '../enrichment';

/** One row of ClickHouse's `clicks`, as sent in JSONEachRow. */
export interface ClickHouseClickRow {
  readonly id: string;
  /** Unix seconds (ClickHouse 18.16 has no DateTime64). */
  readonly occurred_at: number;
  /** The milliseconds of `occurred_at`. */
  readonly occurred_ms: number;
  /** Decimal digits: a UInt64 travels as a string in JSON, exactly. */
  readonly link_id: string;
  readonly code: string;
  readonly method: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly referrer: string | null;
  readonly referrer_host: string | null;
  readonly accept_language: string | null;
  readonly country: string | null;
  readonly browser: string | null;
  readonly os: string | null;
  readonly device_type: string;
  readonly is_bot: 0 | 1;
  /** The visitor id (16 hex characters, keyed with the day's salt); empty when there is none. */
  readonly visitor: string;
}

/** The ClickHouse row of an enriched click. */
export function toClickHouseRow(row: ClickRow): ClickHouseClickRow {
  const ms = Date.parse(row.occurredAt);
  if (Number.isNaN(ms)) throw new TypeError(`not an instant: ${JSON.stringify(row.occurredAt)}`);
  return {
    id: row.id,
    occurred_at: Math.floor(ms / 1000),
    occurred_ms: ((ms % 1000) + 1000) % 1000,
    link_id: row.linkId,
    code: row.code,
    method: row.method,
    ip: row.ip,
    user_agent: row.userAgent,
    referrer: row.referrer,
    referrer_host: row.referrerHost,
    accept_language: row.acceptLanguage,
    country: row.country,
    browser: row.browser,
    os: row.os,
    device_type: row.deviceType,
    is_bot: row.isBot ? 1 : 0,
    visitor: row.visitorId ?? '',
  };
}

/**
 * What PostgreSQL keeps of a click when ClickHouse holds the rest: enough for the exactly-once
 * insert (id, day), the rollups (link, day, bot flag) and the link totals. Every descriptive column
 * is null; the device type stays (it is short and not personal).
 */
export function toReceipt(row: ClickRow): ClickRow {
  return {
    id: row.id,
    occurredAt: row.occurredAt,
    linkId: row.linkId,
    code: row.code,
    method: row.method,
    ip: null,
    userAgent: null,
    referrer: null,
    referrerHost: null,
    acceptLanguage: null,
    country: null,
    browser: null,
    os: null,
    deviceType: row.deviceType,
    isBot: row.isBot,
    // Kept: PostgreSQL counts the unique visitors (the day's set) whatever the sink.
    visitorId: row.visitorId,
  };
}

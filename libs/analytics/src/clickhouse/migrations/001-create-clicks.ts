import type { ClickHouseMigration } from './migration';

/**
 * The clicks table. ReplacingMergeTree on the sorting key, which ends with the event id: a row
 * stored twice (a redelivered batch) is merged away eventually, and until then queries count
 * `uniqExact(id)`, never `count()` (decision 49). One partition per UTC day, so that retention
 * drops whole days; sorted by link first, for the per-link stats. SQL that ClickHouse 18.16 and
 * current releases both accept: no TTL, no DateTime64, no LowCardinality.
 */
export const createClicks: ClickHouseMigration = {
  name: '001-create-clicks',
  up: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.\`clicks\` (
       id UUID,
       occurred_at DateTime('UTC'),
       occurred_ms UInt16,
       link_id UInt64,
       code String,
       method String,
       ip Nullable(String),
       user_agent Nullable(String),
       referrer Nullable(String),
       referrer_host Nullable(String),
       accept_language Nullable(String),
       country Nullable(String),
       browser Nullable(String),
       os Nullable(String),
       device_type String,
       is_bot UInt8,
       visitor String
     ) ENGINE = ReplacingMergeTree()
     PARTITION BY toYYYYMMDD(occurred_at)
     ORDER BY (link_id, occurred_at, id)`,
  ],
};

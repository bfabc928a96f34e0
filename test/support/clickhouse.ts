import { randomBytes } from 'node:crypto';
import { ClickHouseClicks } from '@app/analytics';

/** The ClickHouse the tests use (scripts/services.sh clickhouse starts one on 8123). */
export const TEST_CLICKHOUSE_URL = process.env.TEST_CLICKHOUSE_URL || 'http://127.0.0.1:8123';

/** A database name no other test uses. */
export const uniqueClickHouseDatabase = (): string =>
  `snip_test_${process.pid}_${randomBytes(4).toString('hex')}`;

/** The environment of the ClickHouse sink on `database` (at `url`, TEST_CLICKHOUSE_URL by default). */
export const clickHouseEnv = (
  database: string,
  url = TEST_CLICKHOUSE_URL,
): Record<string, string> => ({
  CLICKS_SINK: 'clickhouse',
  CLICKHOUSE_URL: url,
  CLICKHOUSE_DATABASE: database,
  CLICKHOUSE_TIMEOUT_MS: '5000',
});

/** A client on `database` for the test's own look-ups and clean-up. */
export const testClickHouse = (database: string, url = TEST_CLICKHOUSE_URL): ClickHouseClicks =>
  new ClickHouseClicks({ url, database, user: 'default', password: undefined, timeoutMs: 10_000 });

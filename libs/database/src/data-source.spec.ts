import { DatabaseConfig } from '@app/config';
import { BoundedClient } from './bounded-client';
import { buildDataSourceOptions } from './data-source';

const config = (overrides: Partial<DatabaseConfig>): DatabaseConfig =>
  Object.assign(new DatabaseConfig(), {
    mode: 'postgres',
    url: 'postgres://postgres@127.0.0.1:5432/snip',
    replicaUrls: [],
    poolSize: 7,
    connectTimeoutMs: 5000,
    statementTimeoutMs: 0,
    queryTimeoutMs: 5000,
    keepAliveDelayMs: 10_000,
    migrateOnBoot: false,
    dataDir: './data',
    embeddedPort: 0,
    ...overrides,
  });

const extraOf = (...args: Parameters<typeof buildDataSourceOptions>): Record<string, unknown> =>
  buildDataSourceOptions(...args).extra as Record<string, unknown>;

describe('buildDataSourceOptions', () => {
  it('bounds every query on the client and keeps connections alive', () => {
    expect(extraOf(config({ queryTimeoutMs: 1234, keepAliveDelayMs: 4321 }))).toMatchObject({
      max: 7,
      connectionTimeoutMillis: 5000,
      query_timeout: 1234,
      keepAlive: true,
      keepAliveInitialDelayMillis: 4321,
      Client: BoundedClient,
    });
  });

  it('uses the same pool options for the replicas', () => {
    const options = buildDataSourceOptions(
      config({ replicaUrls: ['postgres://postgres@127.0.0.1:5433/snip'] }),
    );
    expect('replication' in options && options.replication).toBeTruthy();
    expect((options.extra as Record<string, unknown>).query_timeout).toBe(5000);
  });

  it.each([
    ['turned off', config({ queryTimeoutMs: 0 }), {}],
    ['the embedded database', config({ mode: 'embedded' }), {}],
    ['the migration CLI', config({}), { unboundedQueries: true }],
  ])('leaves queries unbounded for %s', (_what, db, bounds) => {
    const extra = extraOf(db, [], bounds);
    expect(extra.query_timeout).toBeUndefined();
    expect(extra.keepAlive).toBe(true);
  });
});

import { register } from 'prom-client';
import { AnalyticsModule, ClickIngestService, type IngestOutcome } from '@app/analytics';
import { createClickEvent, type ClickEvent } from '@app/clicks';
import { ADMIN_DATABASE_URL, query } from '../support/database';
import { eventually } from '../support/eventually';
import { TcpProxy } from '../support/tcp-proxy';
import { useTestingModule } from '../support/testing-module';

/**
 * ClickIngestService (the click pipeline after the transport) in the AnalyticsModule, on a real,
 * migrated PostgreSQL: `accept` resolves once the event's batch is committed; batches are cut at
 * CLICKS_BATCH_SIZE events or after CLICKS_BATCH_INTERVAL_MS; shutdown stores what waits; and a
 * failing database delays the answer, never loses an event.
 */

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';

let nextLink = 7000;
/** `count` click events of a link no other test uses. */
function events(count: number): { linkId: string; events: ClickEvent[] } {
  const link = { id: String(nextLink++), code: 'ingest1' };
  return {
    linkId: link.id,
    events: Array.from({ length: count }, (_, i) =>
      createClickEvent(
        link,
        { method: 'GET', userAgent: BROWSER, referrer: `https://ref.example/${i}` },
        '203.0.113.0',
      ),
    ),
  };
}

/** Wraps `promise`, remembering whether it has settled yet. */
function tracked<T>(promise: Promise<T>): { readonly promise: Promise<T>; settled(): boolean } {
  let settled = false;
  const settle = () => {
    settled = true;
  };
  promise.then(settle, settle);
  return { promise, settled: () => settled };
}

/** Stored clicks of `linkId`, grouped by the transaction that stored them (received_at is now()). */
async function storedBatches(url: string, linkId: string): Promise<{ ids: string[] }[]> {
  return query<{ ids: string[] }>(
    url,
    `SELECT array_agg(id::text ORDER BY id) AS ids FROM clicks WHERE link_id = $1
      GROUP BY received_at ORDER BY min(received_at)`,
    [linkId],
  );
}

const storeFailures = async (): Promise<number> =>
  (await register.getSingleMetric('snip_clicks_store_failures_total')?.get())?.values[0]?.value ??
  0;

const stored: IngestOutcome = { status: 'stored' };

describe('ClickIngestService, batches cut at the size', () => {
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => ({ CLICKS_BATCH_SIZE: '10', CLICKS_BATCH_INTERVAL_MS: '60000' }) },
  );
  let ingest: ClickIngestService;
  beforeAll(async () => {
    ingest = suite.module.get(ClickIngestService);
    await ingest.warmUp();
  });

  it('stores full batches at once, holds the remainder, and stores it on shutdown', async () => {
    const { linkId, events: sent } = events(25);
    const accepted = sent.map((event) => tracked(ingest.accept(event)));

    expect(await Promise.all(accepted.slice(0, 20).map((a) => a.promise))).toEqual(
      Array(20).fill(stored),
    );
    const sortedIds = (list: readonly ClickEvent[]) => list.map((e) => e.id).sort();
    expect(await storedBatches(suite.db.url, linkId)).toEqual([
      { ids: sortedIds(sent.slice(0, 10)) },
      { ids: sortedIds(sent.slice(10, 20)) },
    ]);
    // The last five wait for their batch to fill up or for its interval (a minute here).
    expect(accepted.slice(20).filter((a) => a.settled())).toEqual([]);

    // The shutdown hook (Nest calls it on close) stores what waits before the process exits.
    await ingest.beforeApplicationShutdown();
    expect(await Promise.all(accepted.slice(20).map((a) => a.promise))).toEqual(
      Array(5).fill(stored),
    );
    expect((await storedBatches(suite.db.url, linkId)).at(-1)).toEqual({
      ids: sortedIds(sent.slice(20)),
    });
  });
});

describe('ClickIngestService, batches cut at the interval', () => {
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => ({ CLICKS_BATCH_SIZE: '1000', CLICKS_BATCH_INTERVAL_MS: '50' }) },
  );
  let ingest: ClickIngestService;
  beforeAll(() => {
    ingest = suite.module.get(ClickIngestService);
  });

  it('stores a batch that never fills up once its interval has passed', async () => {
    const { linkId, events: sent } = events(7);
    expect(await Promise.all(sent.map((event) => ingest.accept(event)))).toEqual(
      Array(7).fill(stored),
    );
    expect(await storedBatches(suite.db.url, linkId)).toEqual([
      { ids: sent.map((e) => e.id).sort() },
    ]);
  });

  it('stores a redelivered event once, and refuses an invalid one without storing it', async () => {
    const { linkId, events: sent } = events(3);
    const [first, second, third] = sent as [ClickEvent, ClickEvent, ClickEvent];
    expect(await ingest.accept(first)).toEqual(stored);
    // Redelivered alone, then twice in one batch beside a new one.
    const outcomes = await Promise.all([first, second, second, third].map((e) => ingest.accept(e)));
    expect(outcomes).toEqual(Array(4).fill(stored));
    const [rollup] = await query<{ total: string }>(
      suite.db.url,
      'SELECT sum(total)::text AS total FROM click_daily_rollups WHERE link_id = $1',
      [linkId],
    );
    expect(rollup).toEqual({ total: '3' });
    expect((await storedBatches(suite.db.url, linkId)).flatMap((b) => b.ids).sort()).toEqual(
      sent.map((e) => e.id).sort(),
    );

    const invalid = { ...events(1).events[0]!, id: 'not-a-uuid' };
    expect(await ingest.accept(invalid)).toEqual({
      status: 'invalid',
      reason: expect.any(String) as string,
    });
    expect(await ingest.accept('not an event')).toMatchObject({ status: 'invalid' });
  });
});

describe('ClickIngestService while the database fails', () => {
  // Between the module and PostgreSQL, to take the database away from it alone.
  const server = new URL(ADMIN_DATABASE_URL);
  const proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
  beforeAll(() => proxy.open());
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    {
      env: (db) => ({
        DATABASE_URL: proxy.rewrite(db.url),
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        CLICKS_BATCH_SIZE: '10',
        CLICKS_BATCH_INTERVAL_MS: '20',
        // The failed inserts are expected here: their warnings would only be noise.
        LOG_LEVEL: 'fatal',
      }),
    },
  );
  afterAll(async () => {
    await proxy.cut();
  });

  it('answers no event while inserts fail, retries, and stores every event once when it is back', async () => {
    const ingest = suite.module.get(ClickIngestService);
    // Connections and partitions in place first.
    expect(await ingest.accept(events(1).events[0])).toEqual(stored);

    await proxy.cut();
    const { linkId, events: sent } = events(35);
    const failuresBefore = await storeFailures();
    const accepted = sent.map((event) => tracked(ingest.accept(event)));
    await eventually(storeFailures, (failures) => failures >= failuresBefore + 3, {
      timeoutMs: 15_000,
      what: 'the insert to fail and be retried twice',
    });
    expect(accepted.filter((a) => a.settled())).toEqual([]);
    expect(await storedBatches(suite.db.url, linkId)).toEqual([]);

    await proxy.open();
    expect(await Promise.all(accepted.map((a) => a.promise))).toEqual(Array(35).fill(stored));
    const batches = await storedBatches(suite.db.url, linkId);
    expect(batches.flatMap((b) => b.ids).sort()).toEqual(sent.map((e) => e.id).sort());
  });
});

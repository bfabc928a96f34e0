import { AnalyticsModule, ClickIngestService, StatsRepository } from '@app/analytics';
import { createClickEvent, type ClickEvent, type ClickVisitor } from '@app/clicks';
import type { LinksService } from '@app/links';
import { StatsService } from '../../apps/api/src/stats/stats.service';
import { clickHouseEnv, testClickHouse, uniqueClickHouseDatabase } from '../support/clickhouse';
import { useTestingModule, type IntegrationModule } from '../support/testing-module';

/**
 * The same enriched events through a postgres-sink pipeline and a clickhouse-sink pipeline (each on
 * databases of its own), then the stats endpoint's answer (StatsService.forLink) of each, compared
 * field by field: totals and daily counts (PostgreSQL rollups, fed by full rows on one side and by
 * receipts on the other), and the five breakdowns (PostgreSQL's GROUPING SETS against ClickHouse's
 * ARRAY JOIN). ClickHouse's own daily counts must agree with the rollups as well.
 */

const LINK = { id: '9300', code: 'cmp1234' };
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

const VISITORS: readonly [ClickVisitor, string | null][] = [
  [{ method: 'GET', userAgent: CHROME, referrer: 'https://news.example/a' }, '81.2.69.0'],
  [{ method: 'GET', userAgent: CHROME, acceptLanguage: 'de' }, '8.8.8.0'],
  [{ method: 'HEAD', userAgent: IPHONE, referrer: 'https://Social.Example/p?q=1' }, null],
  [{ method: 'GET', userAgent: IPHONE, referrer: 'not a url' }, '203.0.113.0'],
  [{ method: 'GET', userAgent: BOT }, '66.249.66.0'],
  [{ method: 'GET', referrer: 'https://news.example/b' }, '81.2.69.0'],
];

/** 120 events over three days (and one just outside the range), every visitor kind. */
function events(): ClickEvent[] {
  const start = Date.parse('2030-06-01T00:00:00.000Z');
  const list: ClickEvent[] = [];
  for (let i = 0; i < 120; i++) {
    const [visitor, ip] = VISITORS[(i * 7) % VISITORS.length]!;
    list.push(createClickEvent(LINK, visitor, ip, new Date(start + i * 37 * 60_000 + (i % 1000))));
  }
  // The day after the range, for the range bounds.
  list.push(createClickEvent(LINK, VISITORS[0]![0], '81.2.69.0', new Date('2030-06-05T00:00:00Z')));
  return list;
}

/** StatsService on the module's StatsRepository; the link look-up answers with the one link. */
const statsOf = (suite: IntegrationModule): StatsService =>
  new StatsService(
    { get: () => Promise.resolve({ id: LINK.id, code: LINK.code }) } as unknown as LinksService,
    suite.module.get(StatsRepository),
  );

describe('stats with CLICKS_SINK=postgres and CLICKS_SINK=clickhouse', () => {
  const database = uniqueClickHouseDatabase();
  const postgres = useTestingModule({ imports: [AnalyticsModule] });
  const clickhouse = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => clickHouseEnv(database) },
  );
  const client = testClickHouse(database);
  const sent = events();

  beforeAll(async () => {
    for (const suite of [postgres, clickhouse]) {
      const ingest = suite.module.get(ClickIngestService);
      await Promise.all(sent.map((event) => ingest.accept(event)));
    }
  });
  afterAll(async () => {
    await client.dropDatabase();
    await client.close();
  });

  it.each([
    { includeBots: false, from: '2030-06-01', to: '2030-06-04' },
    { includeBots: true, from: '2030-06-01', to: '2030-06-04' },
    { includeBots: true, from: '2030-06-02', to: '2030-06-02' },
    { includeBots: false, from: '2030-06-01', to: '2030-06-05' },
  ])('gives the same answer for %o', async (range) => {
    const now = new Date('2030-06-10T00:00:00Z');
    const fromPostgres = await statsOf(postgres).forLink(LINK.code, range, {}, now);
    const fromClickHouse = await statsOf(clickhouse).forLink(LINK.code, range, {}, now);
    // Something to compare: clicks, and descriptive values ClickHouse alone holds on its side.
    expect(fromPostgres.totals.clicks).toBeGreaterThan(0);
    expect(fromPostgres.browsers.some((b) => b.value !== null)).toBe(true);
    expect(fromPostgres.countries.some((c) => c.value !== null)).toBe(true);
    expect(fromClickHouse).toEqual(fromPostgres);
  });

  it('counts in ClickHouse what the PostgreSQL rollups count, day by day', async () => {
    const rollups = await postgres.module
      .get(StatsRepository)
      .dailyClicks(LINK.id, '2030-05-31', '2030-06-06');
    expect(rollups.reduce((sum, d) => sum + d.total, 0)).toBe(sent.length);
    expect(await client.dailyClicks(LINK.id, '2030-05-31', '2030-06-06')).toEqual(rollups);
    expect(
      await clickhouse.module.get(StatsRepository).dailyClicks(LINK.id, '2030-05-31', '2030-06-06'),
    ).toEqual(rollups);
  });
});

import {
  AnalyticsModule,
  ClicksRepository,
  StatsRepository,
  type BreakdownRow,
} from '@app/analytics';
import { clickRow } from '../support/click-rows';
import { useTestingModule } from '../support/testing-module';

/**
 * StatsRepository on a real, migrated PostgreSQL, over clicks stored by ClicksRepository: daily
 * totals from the rollups, and breakdowns by referrer, country, browser, OS and device from the
 * clicks themselves, for one link and one time range.
 */

const LINK = '501';
const OTHER = '502';
const FROM = new Date('2030-05-02T00:00:00.000Z');
const TO = new Date('2030-05-04T00:00:00.000Z');

const human = { isBot: false };
// One visitor per kind of client: a visitor's clicks on one day count as one visitor.
const chrome = {
  ...human,
  visitorId: 'c000000000000001',
  browser: 'Chrome',
  os: 'Windows',
  deviceType: 'desktop',
  country: 'GB',
  referrerHost: 'news.example',
};
const iphone = {
  ...human,
  visitorId: 'c000000000000002',
  browser: 'Mobile Safari',
  os: 'iOS',
  deviceType: 'mobile',
  country: null,
  referrer: null,
  referrerHost: null,
};
const crawler = {
  isBot: true,
  visitorId: 'c000000000000003',
  browser: null,
  os: null,
  deviceType: 'bot',
  country: 'US',
  referrer: null,
  referrerHost: null,
};

/** Rows sorted by dimension, then value, for comparison. */
const sorted = (rows: readonly BreakdownRow[]): BreakdownRow[] =>
  [...rows].sort(
    (a, b) =>
      a.dimension.localeCompare(b.dimension) || String(a.value).localeCompare(String(b.value)),
  );

describe('StatsRepository', () => {
  const suite = useTestingModule({ imports: [AnalyticsModule] });
  let stats: StatsRepository;

  beforeAll(async () => {
    stats = suite.module.get(StatsRepository);
    const clicks = suite.module.get(ClicksRepository, { strict: false });
    const at = (iso: string) => ({ linkId: LINK, occurredAt: iso });
    await clicks.insertClicksIgnoringDuplicates([
      // Before the range.
      clickRow({ ...at('2030-05-01T23:59:59.999Z'), ...chrome }),
      // In the range: the first at its very start.
      clickRow({ ...at('2030-05-02T00:00:00.000Z'), ...chrome }),
      clickRow({ ...at('2030-05-02T10:00:00.000Z'), ...chrome }),
      clickRow({ ...at('2030-05-03T23:59:59.999Z'), ...chrome }),
      clickRow({ ...at('2030-05-02T11:00:00.000Z'), ...iphone }),
      clickRow({ ...at('2030-05-03T12:00:00.000Z'), ...iphone }),
      clickRow({ ...at('2030-05-03T13:00:00.000Z'), ...crawler }),
      // At the end of the range: outside it.
      clickRow({ ...at('2030-05-04T00:00:00.000Z'), ...iphone }),
      // Another link, in the range.
      clickRow({ linkId: OTHER, occurredAt: '2030-05-02T12:00:00.000Z', ...chrome }),
    ]);
  });

  it('reads the daily rollups of one link, from the first day to the last inclusive', async () => {
    expect(await stats.dailyClicks(LINK, '2030-05-02', '2030-05-04')).toEqual([
      { day: '2030-05-02', total: 3, human: 3, visitors: 2, humanVisitors: 2 },
      { day: '2030-05-03', total: 3, human: 2, visitors: 3, humanVisitors: 2 },
      { day: '2030-05-04', total: 1, human: 1, visitors: 1, humanVisitors: 1 },
    ]);
    // Days without clicks have no row; filling them in is the caller's business.
    expect(await stats.dailyClicks(LINK, '2030-04-01', '2030-04-30')).toEqual([]);
    expect(await stats.dailyClicks(OTHER, '2030-05-01', '2030-05-31')).toEqual([
      { day: '2030-05-02', total: 1, human: 1, visitors: 1, humanVisitors: 1 },
    ]);
  });

  it('breaks the clicks of [from, to) down by every dimension, bots left out', async () => {
    expect(sorted(await stats.breakdowns(LINK, FROM, TO, false))).toEqual(
      sorted([
        { dimension: 'referrers', value: 'news.example', clicks: 3 },
        { dimension: 'referrers', value: null, clicks: 2 },
        { dimension: 'countries', value: 'GB', clicks: 3 },
        { dimension: 'countries', value: null, clicks: 2 },
        { dimension: 'browsers', value: 'Chrome', clicks: 3 },
        { dimension: 'browsers', value: 'Mobile Safari', clicks: 2 },
        { dimension: 'os', value: 'Windows', clicks: 3 },
        { dimension: 'os', value: 'iOS', clicks: 2 },
        { dimension: 'devices', value: 'desktop', clicks: 3 },
        { dimension: 'devices', value: 'mobile', clicks: 2 },
      ]),
    );
  });

  it('counts bots in when asked', async () => {
    expect(sorted(await stats.breakdowns(LINK, FROM, TO, true))).toEqual(
      sorted([
        { dimension: 'referrers', value: 'news.example', clicks: 3 },
        { dimension: 'referrers', value: null, clicks: 3 },
        { dimension: 'countries', value: 'GB', clicks: 3 },
        { dimension: 'countries', value: 'US', clicks: 1 },
        { dimension: 'countries', value: null, clicks: 2 },
        { dimension: 'browsers', value: 'Chrome', clicks: 3 },
        { dimension: 'browsers', value: 'Mobile Safari', clicks: 2 },
        { dimension: 'browsers', value: null, clicks: 1 },
        { dimension: 'os', value: 'Windows', clicks: 3 },
        { dimension: 'os', value: 'iOS', clicks: 2 },
        { dimension: 'os', value: null, clicks: 1 },
        { dimension: 'devices', value: 'desktop', clicks: 3 },
        { dimension: 'devices', value: 'mobile', clicks: 2 },
        { dimension: 'devices', value: 'bot', clicks: 1 },
      ]),
    );
  });

  it('finds nothing for a range or a link without clicks', async () => {
    expect(await stats.breakdowns(LINK, TO, new Date('2030-05-03T00:00:00.000Z'), true)).toEqual(
      [],
    );
    expect(await stats.breakdowns('999999', FROM, TO, true)).toEqual([]);
  });
});

describe('StatsRepository with a read replica', () => {
  const suite = useTestingModule({ imports: [AnalyticsModule] }, { replicas: 1 });

  it('reads from the replica, not the primary', async () => {
    const clicks = suite.module.get(ClicksRepository, { strict: false });
    await clicks.insertClicksIgnoringDuplicates([
      clickRow({ linkId: LINK, occurredAt: '2030-05-02T10:00:00.000Z', ...chrome }),
    ]);
    const stats = suite.module.get(StatsRepository);
    // The stand-in replica never receives the primary's writes.
    expect(await stats.dailyClicks(LINK, '2030-05-01', '2030-05-31')).toEqual([]);
    expect(await stats.breakdowns(LINK, FROM, TO, true)).toEqual([]);
  });
});

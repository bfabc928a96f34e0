import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  AnalyticsModule,
  ClickIngestService,
  ClicksRepository,
  SALT_WINDOW_DAYS,
  VisitorSaltsRepository,
  visitorId,
} from '@app/analytics';
import { createClickEvent } from '@app/clicks';
import { clickRow } from '../support/click-rows';
import { query } from '../support/database';
import { useTestingModule } from '../support/testing-module';

/**
 * Unique visitors on a real, migrated PostgreSQL (decision 51): the exact set of each link's
 * visitors per UTC day, filled in the statement that stores a batch, counts each visitor once a
 * day, however many clicks, batches and redeliveries bring it; the daily salts the ids are keyed
 * with are shared by the workers and deleted once past the window for late events.
 */

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const hex = (): string => randomBytes(8).toString('hex');

describe('unique visitors', () => {
  const suite = useTestingModule(
    { imports: [AnalyticsModule] },
    { env: () => ({ CLICKS_BATCH_SIZE: '50', CLICKS_BATCH_INTERVAL_MS: '20' }) },
  );
  let clicks: ClicksRepository;
  let nextLink = 30_000;
  const freshLink = (): string => String(nextLink++);

  beforeAll(() => {
    clicks = suite.module.get(ClicksRepository, { strict: false });
  });

  /** The rollups of a link: clicks and visitors per day. */
  const rollups = (linkId: string) =>
    query<{ day: string; total: number; human: number; visitors: number; human_visitors: number }>(
      suite.db.url,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, total::int, human::int, visitors, human_visitors
         FROM click_daily_rollups WHERE link_id = $1 ORDER BY day`,
      [linkId],
    );
  /** How many visitors of a link the set holds per day (what the rollups must agree with). */
  const set = (linkId: string) =>
    query<{ day: string; visitors: number; human_visitors: number }>(
      suite.db.url,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, count(*)::int AS visitors,
              (count(*) FILTER (WHERE NOT is_bot))::int AS human_visitors
         FROM click_daily_visitors WHERE link_id = $1 GROUP BY day ORDER BY day`,
      [linkId],
    );

  it('counts 100,000 distinct visitors stored in batches of 5,000 exactly', async () => {
    const linkId = freshLink();
    const occurredAt = '2030-07-01T12:00:00.000Z';
    const visitors = 100_000;
    let inserted = 0;
    for (let start = 0; start < visitors; start += 5_000) {
      const batch = Array.from({ length: 5_000 }, (_, i) =>
        clickRow({ linkId, occurredAt, visitorId: hex(), isBot: (start + i) % 10 === 0 }),
      );
      inserted += await clicks.insertClicksIgnoringDuplicates(batch);
    }
    // Random 64-bit ids: a collision among 100,000 has a chance of about 3e-10.
    expect(inserted).toBe(visitors);
    expect(await rollups(linkId)).toEqual([
      {
        day: '2030-07-01',
        total: visitors,
        human: visitors * 0.9,
        visitors,
        human_visitors: visitors * 0.9,
      },
    ]);
    expect(await set(linkId)).toEqual([
      { day: '2030-07-01', visitors, human_visitors: visitors * 0.9 },
    ]);
  }, 180_000);

  it('counts a visitor twice in a day once, in one batch and across batches', async () => {
    const linkId = freshLink();
    const [a, b] = [hex(), hex()];
    const on = (visitor: string, time: string, isBot = false) =>
      clickRow({ linkId, visitorId: visitor, occurredAt: `2030-07-02T${time}Z`, isBot });
    expect(
      await clicks.insertClicksIgnoringDuplicates([
        on(a, '08:00:00.000'),
        on(a, '09:00:00.000'),
        on(b, '09:30:00.000'),
      ]),
    ).toBe(3);
    expect(
      await clicks.insertClicksIgnoringDuplicates([on(a, '23:59:59.999'), on(b, '10:00:00.000')]),
    ).toBe(2);
    expect(await rollups(linkId)).toEqual([
      { day: '2030-07-02', total: 5, human: 5, visitors: 2, human_visitors: 2 },
    ]);
  });

  it('counts the same visitor on each day it clicks, and on each link apart', async () => {
    const [linkId, other] = [freshLink(), freshLink()];
    const visitor = hex();
    await clicks.insertClicksIgnoringDuplicates([
      clickRow({ linkId, visitorId: visitor, occurredAt: '2030-07-03T23:59:59.999Z' }),
      clickRow({ linkId, visitorId: visitor, occurredAt: '2030-07-04T00:00:00.000Z' }),
      clickRow({ linkId: other, visitorId: visitor, occurredAt: '2030-07-04T00:00:00.000Z' }),
    ]);
    expect(await rollups(linkId)).toEqual([
      { day: '2030-07-03', total: 1, human: 1, visitors: 1, human_visitors: 1 },
      { day: '2030-07-04', total: 1, human: 1, visitors: 1, human_visitors: 1 },
    ]);
    expect(await rollups(other)).toEqual([
      { day: '2030-07-04', total: 1, human: 1, visitors: 1, human_visitors: 1 },
    ]);
  });

  it('changes nothing when a batch is redelivered, whole or in part', async () => {
    const linkId = freshLink();
    const visitors = [hex(), hex(), hex()];
    const batch = Array.from({ length: 9 }, (_, i) =>
      clickRow({ linkId, visitorId: visitors[i % 3]!, occurredAt: '2030-07-05T10:00:00.000Z' }),
    );
    expect(await clicks.insertClicksIgnoringDuplicates(batch)).toBe(9);
    const before = await rollups(linkId);
    expect(before).toEqual([
      { day: '2030-07-05', total: 9, human: 9, visitors: 3, human_visitors: 3 },
    ]);
    expect(await clicks.insertClicksIgnoringDuplicates(batch)).toBe(0);
    expect(await clicks.insertClicksIgnoringDuplicates(batch.slice(2, 7).reverse())).toBe(0);
    expect(await rollups(linkId)).toEqual(before);
  });

  it('calls a visitor human when one of its clicks in the first batch that brings it is', async () => {
    const linkId = freshLink();
    const [mixed, crawler, late] = [hex(), hex(), hex()];
    const on = (visitor: string, isBot: boolean) =>
      clickRow({ linkId, visitorId: visitor, occurredAt: '2030-07-06T10:00:00.000Z', isBot });
    await clicks.insertClicksIgnoringDuplicates([
      on(mixed, true),
      on(mixed, false),
      on(crawler, true),
      on(late, true),
    ]);
    // A human click of a visitor first seen as a bot, in a later batch, changes nothing.
    await clicks.insertClicksIgnoringDuplicates([on(late, false)]);
    expect(await rollups(linkId)).toEqual([
      { day: '2030-07-06', total: 5, human: 2, visitors: 3, human_visitors: 1 },
    ]);
  });

  it('counts no visitor for a row without one', async () => {
    const linkId = freshLink();
    await clicks.insertClicksIgnoringDuplicates([
      clickRow({ linkId, visitorId: null, occurredAt: '2030-07-07T10:00:00.000Z' }),
    ]);
    expect(await rollups(linkId)).toEqual([
      { day: '2030-07-07', total: 1, human: 1, visitors: 0, human_visitors: 0 },
    ]);
  });

  it('stores concurrent batches sharing visitors without failing or counting a visitor twice', async () => {
    // Several workers at once, each with other clicks of the same visitors, in other orders.
    const links = [freshLink(), freshLink()];
    const visitors = Array.from({ length: 60 }, hex);
    const days = ['2030-07-08', '2030-07-09'];
    for (let round = 0; round < 5; round++) {
      const batches = Array.from({ length: 4 }, () =>
        Array.from({ length: 300 }, (_, i) =>
          clickRow({
            linkId: links[i % 2]!,
            visitorId: visitors[Math.floor(Math.random() * visitors.length)]!,
            occurredAt: `${days[i % 3 === 0 ? 1 : 0]!}T10:00:00.000Z`,
          }),
        ),
      );
      const results = await Promise.allSettled(
        batches.map((batch) => clicks.insertClicksIgnoringDuplicates(batch)),
      );
      expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual(
        [],
      );
    }
    for (const linkId of links) {
      const counted = await rollups(linkId);
      const inSet = await set(linkId);
      expect(counted.map(({ day, visitors: v, human_visitors: h }) => ({ day, v, h }))).toEqual(
        inSet.map(({ day, visitors: v, human_visitors: h }) => ({ day, v, h })),
      );
      for (const row of counted) expect(row.visitors).toBeLessThanOrEqual(visitors.length);
    }
  });

  it('has the worker key ids with the salt of the day: one visitor a day, another the next day', async () => {
    const ingest = suite.module.get(ClickIngestService);
    const link = { id: freshLink(), code: 'visit1' };
    // Noon of today and of yesterday (UTC): both within the window, whatever the hour.
    const noon = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 43_200_000;
    const today = new Date(noon).toISOString().slice(0, 10);
    const yesterday = new Date(noon - 86_400_000).toISOString().slice(0, 10);
    const click = (ip: string, ua: string | undefined, at: number) =>
      ingest.accept(createClickEvent(link, { method: 'GET', userAgent: ua }, ip, new Date(at)));
    await Promise.all([
      click('203.0.113.0', UA, noon),
      click('203.0.113.0', UA, noon + 1),
      click('198.51.100.0', UA, noon + 2),
      // The same visitor yesterday: another salt, another id.
      click('203.0.113.0', UA, noon - 86_400_000),
    ]);
    const days = [yesterday, today].sort();
    expect((await rollups(link.id)).map((r) => [r.day, r.total, r.visitors])).toEqual(
      days.map((day) => (day === today ? [day, 3, 2] : [day, 1, 1])),
    );
    const stored = await query<{ day: string; visitor: string }>(
      suite.db.url,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, encode(visitor, 'hex') AS visitor
         FROM click_daily_visitors WHERE link_id = $1`,
      [link.id],
    );
    const salts = await query<{ day: string; salt: Buffer }>(
      suite.db.url,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, salt FROM visitor_salts`,
    );
    const saltOf = (day: string) => salts.find((s) => s.day === day)!.salt;
    expect(stored).toHaveLength(3);
    expect(stored).toContainEqual({
      day: today,
      visitor: visitorId(saltOf(today), '203.0.113.0', UA),
    });
    expect(stored).toContainEqual({
      day: yesterday,
      visitor: visitorId(saltOf(yesterday), '203.0.113.0', UA),
    });
    expect(saltOf(today).equals(saltOf(yesterday))).toBe(false);
  });
});

describe('VisitorSaltsRepository', () => {
  const suite = useTestingModule({ imports: [AnalyticsModule] });
  const at = (day: string) => new Date(`${day}T12:00:00.000Z`);
  const stored = async () =>
    (
      await query<{ day: string }>(
        suite.db.url,
        `SELECT to_char(day, 'YYYY-MM-DD') AS day FROM visitor_salts ORDER BY day`,
      )
    ).map((r) => r.day);
  /** Another worker: a repository with its own memory of salts. */
  const worker = () => new VisitorSaltsRepository(suite.module.get(DataSource));

  it('gives every worker the same 32-byte salt of a day, made by whichever asks first', async () => {
    const workers = [worker(), worker(), worker()];
    const salts = await Promise.all(
      workers.map((w) => w.saltsFor(['2030-08-01', '2030-08-02'], at('2030-08-02'))),
    );
    for (const day of ['2030-08-01', '2030-08-02']) {
      const first = salts[0]!.get(day)!;
      expect(first).toHaveLength(32);
      for (const other of salts) expect(other.get(day)!.equals(first)).toBe(true);
    }
    expect(salts[0]!.get('2030-08-01')!.equals(salts[0]!.get('2030-08-02')!)).toBe(false);
    expect(await stored()).toEqual(['2030-08-01', '2030-08-02']);
  });

  it(`deletes salts more than ${SALT_WINDOW_DAYS} days old, and gives a later click of their day a salt never stored`, async () => {
    const first = worker();
    const old = (await first.saltsFor(['2030-09-01'], at('2030-09-01'))).get('2030-09-01')!;
    // Still there at the end of the window.
    const inWindow = await worker().saltsFor(['2030-09-01'], at('2030-09-03'));
    expect(inWindow.get('2030-09-01')!.equals(old)).toBe(true);
    expect(await stored()).toContain('2030-09-01');

    // A day later it is gone, from the table and from the worker's memory.
    const late = await first.saltsFor(['2030-09-01', '2030-09-04'], at('2030-09-04'));
    expect(await stored()).not.toContain('2030-09-01');
    expect(late.get('2030-09-01')!.equals(old)).toBe(false);
    expect(await stored()).toContain('2030-09-04');
    // The late day's salt stays the same within this worker (a late visitor counts once here).
    const again = await first.saltsFor(['2030-09-01'], at('2030-09-04'));
    expect(again.get('2030-09-01')!.equals(late.get('2030-09-01')!)).toBe(true);
    expect(await stored()).not.toContain('2030-09-01');
  });
});

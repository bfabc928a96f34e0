import { DataSource } from 'typeorm';
import { AnalyticsModule, ClicksRepository } from '@app/analytics';
import { clickRow } from '../support/click-rows';
import { query } from '../support/database';
import { useTestingModule } from '../support/testing-module';

/**
 * ClicksRepository on a real, migrated PostgreSQL (the AnalyticsModule as the apps build it):
 * one statement stores a batch and its rollups, skips ids already stored, creates missing day
 * partitions, and concurrent batches from several workers neither fail nor count twice.
 */
describe('ClicksRepository', () => {
  const suite = useTestingModule({ imports: [AnalyticsModule] });
  let clicks: ClicksRepository;
  let nextLink = 1000;
  /** A link id no other test uses, so that each test reads its own rows and rollups. */
  const freshLink = (): string => String(nextLink++);

  beforeAll(() => {
    clicks = suite.module.get(ClicksRepository, { strict: false });
  });

  const stored = (linkId: string) =>
    query<{
      id: string;
      link_id: string;
      occurred_at: Date;
      is_bot: boolean;
      referrer_host: string | null;
    }>(
      suite.db.url,
      'SELECT id, link_id::text, occurred_at, is_bot, referrer_host FROM clicks WHERE link_id = $1 ORDER BY occurred_at, id',
      [linkId],
    );
  const rollups = (linkId: string) =>
    query<{ day: string; total: string; human: string }>(
      suite.db.url,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, total::text, human::text
         FROM click_daily_rollups WHERE link_id = $1 ORDER BY day`,
      [linkId],
    );

  /** The link's total in link_click_totals (the link resource's `clicks`); 0 without a row. */
  const total = async (linkId: string): Promise<number> =>
    Number(
      (
        await query<{ clicks: string }>(
          suite.db.url,
          'SELECT clicks::text FROM link_click_totals WHERE link_id = $1',
          [linkId],
        )
      )[0]?.clicks ?? 0,
    );

  it('stores a batch with every column and adds it to the daily rollups by UTC day', async () => {
    const linkId = freshLink();
    const rows = [
      clickRow({ linkId, occurredAt: '2030-03-01T23:59:59.999Z' }),
      clickRow({ linkId, occurredAt: '2030-03-01T12:00:00.000Z', isBot: true }),
      clickRow({
        linkId,
        occurredAt: '2030-03-02T00:00:00.000Z',
        referrer: null,
        referrerHost: null,
      }),
    ];
    expect(await clicks.insertClicksIgnoringDuplicates(rows)).toBe(3);

    const [full] = await query(suite.db.url, 'SELECT * FROM clicks WHERE id = $1', [rows[0]!.id]);
    expect(full).toMatchObject({
      id: rows[0]!.id,
      occurred_at: new Date(rows[0]!.occurredAt),
      link_id: linkId,
      code: rows[0]!.code,
      method: 'GET',
      ip: rows[0]!.ip,
      user_agent: rows[0]!.userAgent,
      referrer: rows[0]!.referrer,
      referrer_host: 'news.example',
      accept_language: 'en',
      country: 'GB',
      browser: 'Chrome',
      os: 'Windows',
      device_type: 'desktop',
      is_bot: false,
    });
    expect(await rollups(linkId)).toEqual([
      { day: '2030-03-01', total: '2', human: '1' },
      { day: '2030-03-02', total: '1', human: '1' },
    ]);
    expect(await total(linkId)).toBe(3);
    expect(await clicks.insertClicksIgnoringDuplicates([])).toBe(0);
  });

  it('creates the day partitions a batch needs', async () => {
    const linkId = freshLink();
    const partition = async (day: string) =>
      (
        await query<{ t: string | null }>(suite.db.url, `SELECT to_regclass($1)::text AS t`, [
          `clicks_${day}`,
        ])
      )[0]!.t;
    expect(await partition('20310615')).toBeNull();
    await clicks.insertClicksIgnoringDuplicates([
      clickRow({ linkId, occurredAt: '2031-06-15T08:00:00.000Z' }),
    ]);
    expect(await partition('20310615')).toBe('clicks_20310615');
    // A second worker (its own memory of partitions) and this one, at once, for a new day.
    const other = new ClicksRepository(suite.module.get(DataSource));
    await Promise.all([
      clicks.ensurePartitions(['2031-06-16', '2031-06-17']),
      other.ensurePartitions(['2031-06-17', '2031-06-16']),
    ]);
    expect([await partition('20310616'), await partition('20310617')]).toEqual([
      'clicks_20310616',
      'clicks_20310617',
    ]);
  });

  it('skips ids already stored and adds only the new rows to the rollups', async () => {
    const linkId = freshLink();
    const first = Array.from({ length: 5 }, () => clickRow({ linkId }));
    expect(await clicks.insertClicksIgnoringDuplicates(first)).toBe(5);
    // The same batch redelivered: nothing changes.
    expect(await clicks.insertClicksIgnoringDuplicates(first)).toBe(0);
    // Part redelivered, part new.
    const mixed = [...first.slice(0, 3), clickRow({ linkId }), clickRow({ linkId, isBot: true })];
    expect(await clicks.insertClicksIgnoringDuplicates(mixed)).toBe(2);

    expect(await stored(linkId)).toHaveLength(7);
    const today = new Date().toISOString().slice(0, 10);
    expect(await rollups(linkId)).toEqual([{ day: today, total: '7', human: '6' }]);
    expect(await total(linkId)).toBe(7);
  });

  it('stores an id that a batch holds twice once', async () => {
    const linkId = freshLink();
    const row = clickRow({ linkId });
    expect(await clicks.insertClicksIgnoringDuplicates([row, clickRow({ linkId }), row])).toBe(2);
    expect(await stored(linkId)).toHaveLength(2);
    expect((await rollups(linkId))[0]).toMatchObject({ total: '2' });
    expect(await total(linkId)).toBe(2);
  });

  it('stores concurrent, overlapping batches of several workers without failing or counting twice', async () => {
    // What redelivery looks like: workers holding the same new events in other orders, at once.
    const links = [freshLink(), freshLink(), freshLink()];
    const shuffled = <T>(items: readonly T[]): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    };
    let insertedTotal = 0;
    for (let round = 0; round < 10; round++) {
      const events = Array.from({ length: 500 }, (_, i) =>
        clickRow({ linkId: links[i % links.length]!, isBot: i % 10 === 0 }),
      );
      const batches = Array.from({ length: 4 }, () => shuffled(events).slice(0, 400));
      const results = await Promise.allSettled(
        batches.map((batch) => clicks.insertClicksIgnoringDuplicates(batch)),
      );
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures).toEqual([]);
      insertedTotal += results.reduce(
        (sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0),
        0,
      );
    }

    const rows = (await Promise.all(links.map(stored))).flat();
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    expect(insertedTotal).toBe(rows.length);
    const totals = (await Promise.all(links.map(rollups))).flat();
    expect(totals.reduce((sum, r) => sum + Number(r.total), 0)).toBe(rows.length);
    expect(totals.reduce((sum, r) => sum + Number(r.human), 0)).toBe(
      rows.filter((row) => !row.is_bot).length,
    );
    for (const linkId of links) {
      expect(await total(linkId)).toBe(rows.filter((row) => row.link_id === linkId).length);
    }
  });
});

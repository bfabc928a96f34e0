import { Redis } from 'ioredis';
import { CacheFactory } from '@app/caching';
import {
  CacheWarmer,
  LinksModule,
  LinksService,
  parseSince,
  type RedirectTarget,
} from '@app/links';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { RedisModule } from '@app/redis';
import { query } from '../support/database';
import { eventually } from '../support/eventually';
import { REDIS_URL } from '../support/services';
import { useTestingModule } from '../support/testing-module';

/**
 * The cache warm-up on real PostgreSQL and Redis, in process: which links each selection picks,
 * the L2 documents it writes (the cache's own, read back by the redirect path), the version rule,
 * one pipeline per batch, the warm message reaching another instance's L1, redirects answered
 * between batches, and the boot warm-up from L2 then the database.
 */
describe('CacheWarmer', () => {
  const prefix = `test:warm:${process.pid}:${Date.now()}:`;
  const keyOf = (code: string): string => `${prefix}cache:link:${code}`;
  const suite = useTestingModule(
    { imports: [RedisModule.forRoot(), LinksModule] },
    { env: () => ({ REDIS_URL, REDIS_KEY_PREFIX: prefix, CACHE_L1_MAX_ENTRIES: '5000' }) },
  );
  const admin = new Redis(REDIS_URL);
  let warmer: CacheWarmer;
  let links: LinksService;
  const DAY = 86_400_000;
  const today = new Date().toISOString().slice(0, 10);
  const daysAgo = (n: number): string => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);

  /** Inserts `count` links `<stem>0...`, ids from `firstId`; answers their codes. */
  async function insertLinks(stem: string, firstId: number, count: number): Promise<string[]> {
    await query(
      suite.db.url,
      `INSERT INTO links (id, code, url, updated_at)
       SELECT $1::bigint + i, $2 || i, 'https://example.com/' || $2 || i, now()
         FROM generate_series(0, $3 - 1) AS i`,
      [firstId, stem, count],
    );
    return Array.from({ length: count }, (_, i) => `${stem}${i}`);
  }

  async function clicks(code: string, day: string, total: number): Promise<void> {
    await query(
      suite.db.url,
      `INSERT INTO click_daily_rollups (link_id, day, total, human)
       SELECT id, $2::date, $3, $3 FROM links WHERE code = $1`,
      [code, day, total],
    );
  }

  const l2 = async (code: string): Promise<{ v: number; d: Record<string, unknown> } | null> => {
    const raw = await admin.get(keyOf(code));
    return raw === null ? null : (JSON.parse(raw) as { v: number; d: Record<string, unknown> });
  };

  const clearL2 = async (): Promise<void> => {
    const keys = await admin.keys(`${prefix}cache:*`);
    if (keys.length > 0) await admin.del(...keys);
  };

  beforeAll(async () => {
    warmer = suite.module.get(CacheWarmer);
    links = suite.module.get(LinksService);
    await insertLinks('hot', 1_000_000, 5);
    await clicks('hot0', today, 100);
    await clicks('hot1', today, 50);
    await clicks('hot2', daysAgo(10), 500);
    await clicks('hot3', today, 10);
    await clicks('hot3', daysAgo(1), 5);
    await clicks('hot4', today, 70);
    await query(suite.db.url, `UPDATE links SET deleted_at = now() WHERE code = 'hot4'`);
  });

  afterAll(async () => {
    await clearL2();
    admin.disconnect();
  });

  beforeEach(clearL2);

  it('warms the top N by clicks in the window, skipping deleted links, and keeps the hot set', async () => {
    const result = await warmer.warm({ kind: 'top', top: 3, sinceMs: parseSince('24h')! });
    // hot4 (70 clicks) was deleted: counted missing. hot2's clicks are 10 days old.
    expect(result).toMatchObject({ links: 2, written: 2, keptNewer: 0, missing: 1, l1: 0 });
    expect(await l2('hot0')).toMatchObject({
      d: { code: 'hot0', url: 'https://example.com/hot0' },
    });
    expect(await l2('hot1')).not.toBeNull();
    expect(await l2('hot2')).toBeNull();
    expect(await admin.zrange(`${prefix}cache:link:~hot`, 0, -1)).toEqual(['hot0', 'hot1']);

    const month = await warmer.warm({ kind: 'top', top: 10, sinceMs: parseSince('30d')! });
    expect(month).toMatchObject({ links: 4, written: 4, missing: 1 });
    expect(await admin.zrange(`${prefix}cache:link:~hot`, 0, -1)).toEqual([
      'hot2',
      'hot0',
      'hot1',
      'hot3',
    ]);
  });

  it('writes the document the redirect path reads back', async () => {
    await warmer.warm({ kind: 'codes', codes: ['hot0'] });
    const doc = await l2('hot0');
    // A fresh instance with an empty L1 reads it from L2 (no database read needed).
    const [row] = await query<{ updated_at: Date }>(
      suite.db.url,
      `SELECT updated_at FROM links WHERE code = 'hot0'`,
    );
    expect(doc?.v).toBe(row!.updated_at.getTime());
    const resolution = await links.resolve('hot0');
    expect(resolution).toMatchObject({ state: 'active', link: { code: 'hot0' } });
  });

  it('warms a codes list: unknown, deleted and invalid codes counted, not fatal', async () => {
    const result = await warmer.warm({
      kind: 'codes',
      codes: ['hot1', 'nope', 'hot4', 'not a code', 'hot1'],
    });
    expect(result).toMatchObject({ links: 1, written: 1, missing: 2, invalid: 1 });
  });

  it('never overwrites a newer entry an update wrote', async () => {
    // As if an update landed after the warm-up read the link: L2 holds a later version.
    const newer = { v: Date.now() + 60_000, d: { code: 'hot1', url: 'https://example.com/new' } };
    await admin.set(keyOf('hot1'), JSON.stringify(newer));
    const result = await warmer.warm({ kind: 'codes', codes: ['hot0', 'hot1'] });
    expect(result).toMatchObject({ links: 2, written: 1, keptNewer: 1 });
    expect(await l2('hot1')).toEqual(newer);
  });

  describe('with many links', () => {
    const COUNT = 10_000;
    let codes: string[];
    beforeAll(async () => {
      codes = await insertLinks('many', 2_000_000, COUNT);
    });

    it('warms all links up to the limit in keyset batches, one pipeline each', async () => {
      const batches: number[] = [];
      const result = await warmer.warm(
        { kind: 'all', limit: 4200 },
        { onBatch: (done) => batches.push(done) },
      );
      expect(result).toMatchObject({ links: 4200, written: 4200, keptNewer: 0, missing: 0 });
      expect(batches).toEqual([1000, 2000, 3000, 4000, 4200]);
      const stored = await admin.keys(`${prefix}cache:link:*`);
      expect(stored).toHaveLength(4200);
      // By id: the five hot links (ids 1,000,000...) first, deleted hot4 left out, then many0...
      expect(await l2('hot3')).not.toBeNull();
      expect(await l2('hot4')).toBeNull();
      expect(await l2(`many${4200 - 5}`)).not.toBeNull();
      expect(await l2(`many${4200 - 4}`)).toBeNull();
    });

    it('answers redirects between its batches', async () => {
      // Redirects of codes not in L1 keep being answered while the warm-up (ten batches) runs:
      // each one started is answered before the warm-up has done four more batches (mostly in the
      // same or the next: it may wait behind a batch's pipeline on the shared Redis connection and
      // a batch's query in the pool, never for the whole warm-up).
      let batch = 0;
      let warming = true;
      const lags: number[] = [];
      const redirects: Promise<void>[] = [];
      let next = 0;
      const redirectLoop = async (): Promise<void> => {
        while (warming && next < COUNT) {
          const startedAt = batch;
          const resolution = await links.resolve(codes[COUNT - 1 - next++]!);
          expect(resolution.state).toBe('active');
          if (warming) lags.push(batch - startedAt);
        }
      };
      const warm = warmer.warm({ kind: 'all', limit: COUNT + 5 }, { onBatch: () => void batch++ });
      for (let i = 0; i < 4; i++) redirects.push(redirectLoop());
      await warm;
      warming = false;
      await Promise.all(redirects);
      expect(lags.length).toBeGreaterThan(0);
      expect(Math.max(...lags)).toBeLessThanOrEqual(3);
    });

    it('tells the other instances to load the warmed codes into their L1', async () => {
      // Another instance: its own connections, the same prefix.
      const logger = suite.module.get<Logger>(ROOT_LOGGER);
      const redis = new Redis(REDIS_URL);
      const factory = new CacheFactory(suite.config.cache, suite.config.redis, logger, redis);
      const other = factory.create<RedirectTarget>('link', {
        encode: (link) => link,
        decode: (data) => data as RedirectTarget,
        version: () => 1,
      });
      try {
        await factory.onModuleInit();
        const result = await warmer.warm(
          { kind: 'codes', codes: codes.slice(0, 3000) },
          { l1: true },
        );
        expect(result).toMatchObject({ links: 3000, written: 3000, l1: 3000 });
        expect(links.linkCache.holdsLocally('many0')).toBe(true);
        await eventually(() => codes.slice(0, 3000).every((code) => other.holdsLocally(code)), {
          what: 'the other instance to load 3,000 codes (three messages)',
        });
        expect(other.holdsLocally('many3000')).toBe(false);
      } finally {
        await factory.onApplicationShutdown();
        redis.disconnect();
      }
    });
  });

  it('warms a booting instance from L2 first, else the database', async () => {
    links.linkCache.clearLocal();
    await warmer.warm({ kind: 'codes', codes: ['hot0'] });
    await admin.set(
      keyOf('hot0'),
      JSON.stringify({
        ...(await l2('hot0')),
        d: { ...(await l2('hot0'))!.d, url: 'https://example.com/from-l2' },
      }),
    );
    // The top four of the day: hot0, hot4 (deleted), hot1, hot3.
    const loaded = await warmer.warmOnBoot(4, parseSince('24h')!);
    expect(loaded).toBe(3);
    for (const code of ['hot0', 'hot1', 'hot3'])
      expect(links.linkCache.holdsLocally(code)).toBe(true);
    // hot0 came from L2 (as L2 had it), hot1 from the database, then written to L2 as well.
    expect(await links.resolve('hot0')).toMatchObject({
      link: { url: 'https://example.com/from-l2' },
    });
    expect(await l2('hot1')).not.toBeNull();
  });

  it('stops between batches once its bound is reached', async () => {
    const aborted = AbortSignal.abort();
    await expect(warmer.warmOnBoot(3, parseSince('24h')!, aborted)).rejects.toThrow();
  });
});

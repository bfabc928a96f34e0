import { eventually } from '../support/eventually';
import { expectProblem, LinksClient, type LinkBody } from '../support/http';
import { useTestApi } from '../support/suite';

/**
 * Visit counts and caps on one api without Redis (the inline click pipeline, the in-process visit
 * counter): `clicks` in the link resource, lists sorted by it, `maxClicks` on create and update,
 * and 410 LINK_EXHAUSTED after exactly that many redirects.
 */
describe('visit counts and maxClicks, one api without Redis', () => {
  const { api } = useTestApi({
    env: { CLICKS_BATCH_INTERVAL_MS: '50' },
    databasePrefix: 'snip_visits',
  });
  let links: LinksClient;

  beforeAll(() => {
    links = new LinksClient(api.url);
  });

  const redirect = (code: string, accept = 'application/json') =>
    fetch(`${api.url}/${code}`, { redirect: 'manual', headers: { accept } });

  const statuses = async (code: string, times: number): Promise<number[]> => {
    const seen: number[] = [];
    for (let i = 0; i < times; i++) {
      const res = await redirect(code);
      await res.arrayBuffer();
      seen.push(res.status);
    }
    return seen;
  };

  const link = async (code: string): Promise<LinkBody> =>
    (await (await links.get(code)).json()) as LinkBody;

  /** The link once its written-behind count reaches `clicks`. */
  const counted = (code: string, clicks: number) =>
    eventually(
      () => link(code),
      (body) => body.clicks >= clicks,
      { timeoutMs: 20_000, intervalMs: 100, what: `${clicks} clicks of ${code}` },
    );

  const statsTotal = async (code: string): Promise<number> => {
    const res = await fetch(`${api.url}/api/v1/links/${code}/stats?includeBots=true`);
    return ((await res.json()) as { totals: { clicks: number } }).totals.clicks;
  };

  it('creates a link with maxClicks and shows clicks (0) and the cap', async () => {
    const body = await links.create({ url: 'https://example.com/capped', maxClicks: 3 });
    expect(body).toMatchObject({ maxClicks: 3, clicks: 0 });
    const uncapped = await links.create({ url: 'https://example.com/free' });
    expect(uncapped).toMatchObject({ maxClicks: null, clicks: 0 });
  });

  it.each([0, -1, 1.5, '10', 2_147_483_648, null])(
    'refuses maxClicks %j on create with 400 VALIDATION_FAILED naming the field',
    async (maxClicks) => {
      const problem = await expectProblem(
        await links.post({ url: 'https://example.com/x', maxClicks }),
        400,
        'VALIDATION_FAILED',
      );
      expect(new Set(problem.errors?.map((e) => e.field))).toEqual(new Set(['maxClicks']));
    },
  );

  it('redirects exactly maxClicks times, then answers 410 LINK_EXHAUSTED (problem+json or HTML)', async () => {
    const { code } = await links.create({ url: 'https://example.com/three', maxClicks: 3 });
    expect(await statuses(code, 5)).toEqual([302, 302, 302, 410, 410]);
    const problem = await expectProblem(await redirect(code), 410, 'LINK_EXHAUSTED');
    expect(problem).toMatchObject({ maxClicks: 3 });
    const page = await redirect(code, 'text/html');
    expect(page.status).toBe(410);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Link exhausted');

    // Only the redirects are clicks: the count, once written behind, is the stats' total.
    expect((await counted(code, 3)).clicks).toBe(3);
    expect(await statsTotal(code)).toBe(3);
  });

  it('follows a raised cap, and a removed one, at once', async () => {
    const { code } = await links.create({ url: 'https://example.com/raise', maxClicks: 1 });
    expect(await statuses(code, 2)).toEqual([302, 410]);
    const raised = (await (await links.patch(code, { maxClicks: 2 })).json()) as LinkBody;
    expect(raised.maxClicks).toBe(2);
    expect(await statuses(code, 2)).toEqual([302, 410]);
    const removed = (await (await links.patch(code, { maxClicks: null })).json()) as LinkBody;
    expect(removed.maxClicks).toBeNull();
    expect(await statuses(code, 2)).toEqual([302, 302]);
    expect((await counted(code, 4)).clicks).toBe(4);
  });

  it.each([0, 2.5, 'many'])('refuses maxClicks %j on update', async (maxClicks) => {
    const { code } = await links.create({ url: 'https://example.com/patch' });
    const problem = await expectProblem(
      await links.patch(code, { maxClicks }),
      400,
      'VALIDATION_FAILED',
    );
    expect(new Set(problem.errors?.map((e) => e.field))).toEqual(new Set(['maxClicks']));
  });

  describe('lists sorted by clicks', () => {
    it('pages most clicked first and least clicked first, ties by id, with a cursor', async () => {
      const made: { code: string; clicks: number }[] = [];
      for (const clicks of [2, 0, 4, 2, 1]) {
        const { code } = await links.create({ url: `https://example.com/sorted/${clicks}` });
        await statuses(code, clicks);
        made.push({ code, clicks });
      }
      for (const { code, clicks } of made) await counted(code, clicks);

      const walk = async (sort: string): Promise<string[]> => {
        const codes: string[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 100; pages++) {
          const query: string = `?sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await links.list(query);
          expect(res.status).toBe(200);
          const page = (await res.json()) as { items: LinkBody[]; nextCursor: string | null };
          codes.push(...page.items.map((item) => item.code));
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        return codes;
      };
      const mine = new Set(made.map((m) => m.code));
      const descending = (await walk('-clicks')).filter((code) => mine.has(code));
      const ascending = (await walk('clicks')).filter((code) => mine.has(code));
      const clicksOf = (code: string) => made.find((m) => m.code === code)!.clicks;
      expect(descending.map(clicksOf)).toEqual([4, 2, 2, 1, 0]);
      expect(ascending.map(clicksOf)).toEqual([0, 1, 2, 2, 4]);
      // Ties in id order: ascending lists them in the reverse order of descending.
      expect(ascending.slice(2, 4)).toEqual(descending.slice(1, 3).reverse());
    });

    it('refuses an unknown sort with 400 VALIDATION_FAILED and a cursor of another order with INVALID_CURSOR', async () => {
      const bad = await expectProblem(
        await links.list('?sort=popularity'),
        400,
        'VALIDATION_FAILED',
      );
      expect(bad.errors?.map((e) => e.field)).toEqual(['sort']);
      await links.create({ url: 'https://example.com/c1' });
      await links.create({ url: 'https://example.com/c2' });
      const first = (await (await links.list('?limit=1')).json()) as { nextCursor: string };
      await expectProblem(
        await links.list(`?sort=-clicks&cursor=${first.nextCursor}`),
        400,
        'INVALID_CURSOR',
      );
    });
  });
});

import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { LinksClient, type LinkBody } from '../support/http';
import { spawnApi, type SpawnedApi } from '../support/process';

jest.setTimeout(60_000);

const BLOCK_SIZE = 5;
const PER_INSTANCE = 200;

/** Runs `count` calls of `task` with at most `width` in flight. */
async function inParallel<T>(count: number, width: number, task: (i: number) => Promise<T>) {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe('two api instances on one PostgreSQL', () => {
  let db: TestDatabase;
  let apis: SpawnedApi[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Started together, so both also race to apply the migrations at boot.
    apis = await Promise.all(
      [1, 2].map(() =>
        spawnApi({ env: { DATABASE_URL: db.url, LINK_ID_BLOCK_SIZE: String(BLOCK_SIZE) } }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await db?.drop();
  });

  it('applies each migration once although both migrate at boot', async () => {
    const rows = await query<{ name: string; n: string }>(
      db.url,
      'SELECT name, count(*)::text AS n FROM schema_migrations GROUP BY name',
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => row.n !== '1')).toEqual([]);
  });

  it('creates links concurrently on both without a duplicate code or id', async () => {
    const created = await Promise.all(
      apis.map(async (api, instance) => {
        const links = new LinksClient(api.url);
        const bodies = await inParallel(PER_INSTANCE, 25, (i) =>
          links.create({ url: `https://example.com/${instance}/${i}` }),
        );
        return bodies.map((body) => ({ ...body, instance }));
      }),
    );
    const all: (LinkBody & { instance: number })[] = created.flat();
    expect(all).toHaveLength(2 * PER_INSTANCE);
    expect(new Set(all.map((l) => l.code)).size).toBe(2 * PER_INSTANCE);
    for (const link of all) expect(link.code).toMatch(/^[0-9A-Za-z]{7}$/);

    const counts = await query<Record<string, string>>(
      db.url,
      'SELECT count(*)::text AS n, count(DISTINCT code)::text AS codes, count(DISTINCT id)::text AS ids FROM links',
    );
    expect(counts[0]).toEqual({ n: '400', codes: '400', ids: '400' });

    const rows = await query<{ id: string; code: string }>(
      db.url,
      'SELECT id::text, code FROM links',
    );
    const byCode = new Map(rows.map((row) => [row.code, BigInt(row.id)]));
    expect([...byCode.keys()].sort()).toEqual(all.map((l) => l.code).sort());

    // Each instance draws its ids BLOCK_SIZE at a time from the one sequence. Two instances'
    // draws may interleave (nextval per row), so blocks need not be contiguous; what must hold
    // is that no id is handed out twice (above) and that prefetching wastes at most the ids the
    // two pools still hold (under two blocks each).
    const [sequence] = await query<{ last: string }>(
      db.url,
      'SELECT last_value::text AS last FROM link_id_seq',
    );
    const drawn = Number(sequence!.last);
    expect(drawn).toBeGreaterThanOrEqual(2 * PER_INSTANCE);
    expect(drawn).toBeLessThanOrEqual(2 * PER_INSTANCE + 2 * 2 * BLOCK_SIZE);
    expect(Math.max(...rows.map((row) => Number(row.id)))).toBeLessThanOrEqual(drawn);

    // Each instance serves the links the other created.
    const sample = all.filter((_, i) => i % 40 === 0);
    for (const link of sample) {
      const other = apis[1 - link.instance]!;
      const res = await fetch(`${other.url}/${link.code}`, { redirect: 'manual' });
      expect({ code: link.code, location: res.headers.get('location') }).toEqual({
        code: link.code,
        location: link.url,
      });
    }
  });
});

import { fireRedirects, OwnRedis, pipelineIdle, uniqueName } from '../support/clicks';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { expectProblem, LinksClient, type LinkBody } from '../support/http';
import { uniquePrefix } from '../support/metrics';
import { spawnApi, spawnLogs, type SpawnedApi, type SpawnedLogs } from '../support/process';
import { REDIS_URL, removeRedisKeys } from '../support/services';
import { useTestApi } from '../support/suite';

/**
 * Visit counts and caps across processes, on real PostgreSQL and Redis (Redis Streams carry the
 * clicks to the logs worker): a capped link answers exactly `maxClicks` redirects in all from
 * three api instances, and a link's written-behind `clicks` equals the stats total and the
 * redirects answered, through a SIGKILLed worker. Runs the built apps (`npm run build` first).
 */
jest.setTimeout(180_000);
const LAND_MS = 90_000;

describe('visit counts and caps across processes', () => {
  const prefix = `${uniqueName('snip-visits')}:`;
  const stream = uniqueName('clicks');
  let db: TestDatabase;
  const apis: SpawnedApi[] = [];
  const workers: SpawnedLogs[] = [];

  const env = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_STREAM: stream,
    CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    CLICKS_BATCH_INTERVAL_MS: '100',
    CLICKS_PUBLISH_INTERVAL_MS: '20',
    CLICKS_CLAIM_IDLE_MS: '1500',
    // 2,000 redirects from one address in a few seconds: not what this test is about.
    RATE_LIMIT_EXEMPT_LOOPBACK: 'true',
  });
  const worker = async (): Promise<SpawnedLogs> => {
    const spawned = await spawnLogs(env());
    workers.push(spawned);
    return spawned;
  };

  beforeAll(async () => {
    db = await createTestDatabase('snip_visits_x');
    // The first applies the migrations (test profile); the others start on the migrated schema.
    apis.push(await spawnApi({ env: env() }));
    apis.push(...(await Promise.all([spawnApi({ env: env() }), spawnApi({ env: env() })])));
  }, 120_000);

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });

  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await removeRedisKeys(prefix);
    await db?.drop();
  });

  const link = async (code: string): Promise<LinkBody> =>
    (await (await new LinksClient(apis[0]!.url).get(code)).json()) as LinkBody;

  const statsTotal = async (code: string): Promise<number> => {
    const res = await fetch(`${apis[1]!.url}/api/v1/links/${code}/stats?includeBots=true`);
    return ((await res.json()) as { totals: { clicks: number } }).totals.clicks;
  };

  /** The link's count once it reaches `n` and nothing more is on its way. */
  async function settled(code: string, n: number): Promise<number> {
    await eventually(
      () => link(code),
      (body) => body.clicks >= n,
      { timeoutMs: LAND_MS, intervalMs: 250, what: `${n} clicks counted for ${code}` },
    );
    await eventually(
      () => pipelineIdle({ apiUrls: apis.map((api) => api.url), stream: `${prefix}${stream}` }),
      {
        timeoutMs: LAND_MS,
        intervalMs: 250,
        what: 'the apis and the stream to hold no more events',
      },
    );
    return (await link(code)).clicks;
  }

  it('answers exactly maxClicks redirects of 2,000 concurrent ones spread over three instances', async () => {
    await worker();
    const { code } = await new LinksClient(apis[0]!.url).create({
      url: 'https://example.com/limited-drop',
      maxClicks: 100,
    });
    const answers = new Map<string, number>();
    const count = (answer: string) => answers.set(answer, (answers.get(answer) ?? 0) + 1);
    let next = 0;
    const TOTAL = 2000;
    // 48 at a time, round robin over the instances.
    const client = async (): Promise<void> => {
      while (next < TOTAL) {
        const i = next++;
        const res = await fetch(`${apis[i % apis.length]!.url}/${code}`, { redirect: 'manual' });
        const text = await res.text();
        count(
          res.status === 410
            ? `410 ${(JSON.parse(text) as { code: string }).code}`
            : String(res.status),
        );
      }
    };
    await Promise.all(Array.from({ length: 48 }, client));
    expect(answers).toEqual(
      new Map([
        ['302', 100],
        ['410 LINK_EXHAUSTED', 1900],
      ]),
    );
    expect(await settled(code, 100)).toBe(100);
    expect(await statsTotal(code)).toBe(100);
  });

  it('counts every redirect exactly once through a SIGKILLed worker: clicks == stats == N', async () => {
    const N = 4000;
    const first = await worker();
    const { code } = await new LinksClient(apis[0]!.url).create({
      url: 'https://example.com/counted',
    });
    const firing = fireRedirects(apis[0]!.url, code, N, { tag: 'visits', concurrency: 16 });
    await eventually(
      () => link(code),
      (body) => body.clicks >= 300,
      { timeoutMs: LAND_MS, intervalMs: 50, what: `300 clicks counted for ${code}` },
    );
    await first.stop('SIGKILL');
    expect((await link(code)).clicks).toBeLessThan(N);
    await worker();
    expect(await firing).toEqual(new Map([[302, N]]));
    expect(await settled(code, N)).toBe(N);
    expect(await statsTotal(code)).toBe(N);
  });
});

describe('a capped link while Redis is away', () => {
  let redis: OwnRedis | undefined;
  // Filled in by the beforeAll below, which runs before useTestApi's (registered after it).
  const env: Record<string, string> = {
    REDIS_KEY_PREFIX: uniquePrefix('visits-down'),
    REDIS_PROBE_INTERVAL_MS: '200',
    RATE_LIMIT_EXEMPT_LOOPBACK: 'true',
  };
  beforeAll(async () => {
    redis = new OwnRedis();
    await redis.start();
    env.REDIS_URL = redis.url;
  });
  const { api } = useTestApi({ env, databasePrefix: 'snip_visits_down' });
  afterAll(async () => {
    await redis?.destroy();
  });

  const redirect = (code: string) => fetch(`${api.url}/${code}`, { redirect: 'manual' });

  it('answers 503 VISIT_LIMIT_UNAVAILABLE with Retry-After, never a redirect too many, while uncapped links redirect', async () => {
    const links = new LinksClient(api.url);
    const capped = await links.create({ url: 'https://example.com/capped', maxClicks: 2 });
    const free = await links.create({ url: 'https://example.com/free' });
    expect((await redirect(capped.code)).status).toBe(302);

    await (redis as OwnRedis).kill();
    try {
      const problem = await eventually(
        () => redirect(capped.code),
        (res) => res.status !== 302,
        { timeoutMs: 10_000, intervalMs: 50, what: 'the capped link to stop redirecting' },
      );
      await expectProblem(problem, 503, 'VISIT_LIMIT_UNAVAILABLE');
      expect(problem.headers.get('retry-after')).toBe('5');
      expect((await redirect(free.code)).status).toBe(302);
    } finally {
      await (redis as OwnRedis).start();
    }
    // Back with its counter (append-only file): one visit left of two.
    const after = await eventually(
      () => redirect(capped.code),
      (res) => res.status !== 503,
      { timeoutMs: 15_000, intervalMs: 100, what: 'the capped link to count again' },
    );
    expect(after.status).toBe(302);
    await expectProblem(await redirect(capped.code), 410, 'LINK_EXHAUSTED');
  });
});

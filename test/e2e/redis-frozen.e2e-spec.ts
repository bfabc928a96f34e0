import { Redis } from 'ioredis';
import { OwnRedis } from '../support/clicks';
import { eventually } from '../support/eventually';
import { LinksClient, type LinkBody } from '../support/http';
import { metric, uniquePrefix } from '../support/metrics';
import { useTestApi } from '../support/suite';

/** Well under REDIS_COMMAND_TIMEOUT_MS (1000, the default): no request waits on Redis. */
const FAST_MS = 300;

interface LogLine {
  readonly msg?: string;
  readonly redis?: string;
}

const parsed = (line: string): LogLine | null => {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return null;
  }
};

describe('Redis frozen or killed under the api', () => {
  let redis: OwnRedis | undefined;
  // Filled in by the beforeAll below, which runs before useTestApi's (registered after it).
  const env: Record<string, string> = {
    REDIS_KEY_PREFIX: uniquePrefix('frozen'),
    // Every redirect misses L1 (so it reads L2) and passes the redirect limit.
    CACHE_L1_MAX_ENTRIES: '0',
    REDIRECT_RATE_LIMIT_PER_MIN: '1000000',
    RATE_LIMIT_IP_PER_MIN: '1000000',
    REDIS_PROBE_INTERVAL_MS: '200',
    // The click publisher's own connection to the same Redis: it must lose no click, and (as every
    // ioredis client) print nothing but JSON.
    CLICKS_TRANSPORT: 'redis-streams',
  };
  beforeAll(async () => {
    redis = new OwnRedis();
    await redis.start();
    env.REDIS_URL = redis.url;
  });
  const { api } = useTestApi({ env });
  afterAll(async () => {
    redis?.thaw();
    await redis?.destroy();
  });

  const links = () => new LinksClient(api.url);
  const lines = (msg: string) =>
    api.output.filter((line) => {
      const log = parsed(line);
      return log?.redis === 'shared' && log.msg?.startsWith(msg) === true;
    }).length;

  /** The referrer of every click the api has written to the stream. */
  async function streamedReferrers(): Promise<Set<string>> {
    const client = new Redis((redis as OwnRedis).url, { lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const entries = await client.xrange(`${env.REDIS_KEY_PREFIX}clicks`, '-', '+');
      const referrers = new Set<string>();
      for (const [, fields] of entries) {
        const data = fields[fields.indexOf('d') + 1] ?? '{}';
        const event = JSON.parse(data) as { referrer?: string | null };
        if (event.referrer) referrers.add(event.referrer);
      }
      return referrers;
    } finally {
      client.disconnect();
    }
  }

  /** Referrers of the redirects sent, one of its own each. */
  const sent: string[] = [];

  /** One round of what touches Redis: a creation, an API read, a redirect; each one's time. */
  async function round(code: string): Promise<Record<string, number>> {
    const times: Record<string, number> = {};
    const time = async (name: string, request: () => Promise<Response | LinkBody>) => {
      const started = performance.now();
      const res = await request();
      if (res instanceof Response) {
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(400);
      }
      times[name] = performance.now() - started;
    };
    await time('create', () => links().create({ url: 'https://example.com/while-frozen' }));
    await time('api', () => links().get(code));
    const referrer = `https://proof.test/frozen/${sent.length}`;
    sent.push(referrer);
    await time('redirect', () => links().redirect(`/${code}`, { headers: { referer: referrer } }));
    return times;
  }

  let link: LinkBody;

  /** Follows `code` until the api counts an L2 hit more than before: it is using Redis. */
  async function expectL2Hit(code: string, what: string): Promise<void> {
    const l2Hits = () => metric(api.url, 'snip_cache_lookups_total', { tier: 'l2', result: 'hit' });
    const before = await l2Hits();
    await eventually(
      async () => {
        await (await links().redirect(`/${code}`)).arrayBuffer();
        return l2Hits();
      },
      (hits) => hits > before,
      { what },
    );
  }

  it('uses Redis while it answers', async () => {
    link = await links().create({ url: 'https://example.com/frozen' });
    await expectL2Hit(link.code, 'an L2 hit');
    expect(lines('redis down')).toBe(0);
  });

  it('frozen: fails fast once the breaker opens, and uses Redis again after it thaws', async () => {
    const own = redis as OwnRedis;
    own.freeze();
    try {
      // The first requests wait out their command time-outs; then the breaker opens.
      await eventually(
        async () => Math.max(...Object.values(await round(link.code))),
        (slowest) => slowest < FAST_MS,
        { timeoutMs: 20_000, intervalMs: 1, what: `a round within ${FAST_MS} ms each` },
      );
      for (let i = 0; i < 5; i++) {
        const times = await round(link.code);
        for (const [name, ms] of Object.entries(times)) {
          expect({ name, fast: ms < FAST_MS, ms }).toEqual({ name, fast: true, ms });
        }
      }
      // Readiness asks the breaker too: Redis degraded (still 200), without waiting out a PING.
      const started = performance.now();
      const ready = await fetch(`${api.url}/health/ready`);
      const readyMs = performance.now() - started;
      const report = (await ready.json()) as { details: { redis: { status: string } } };
      expect({
        status: ready.status,
        redis: report.details.redis.status,
        fast: readyMs < FAST_MS,
      }).toEqual({ status: 200, redis: 'degraded', fast: true });
    } finally {
      own.thaw();
    }
    await eventually(() => lines('redis up') === 1, { timeoutMs: 10_000, what: "'redis up'" });
    await expectL2Hit(link.code, 'an L2 hit after the thaw');
    expect(lines('redis down')).toBe(1);
    expect(lines('redis up')).toBe(1);
    // Every click of a redirect answered while Redis was frozen reached the stream after all.
    const streamed = await eventually(
      streamedReferrers,
      (referrers) => sent.every((r) => referrers.has(r)),
      { timeoutMs: 10_000, what: 'every click in the stream' },
    );
    expect(sent.filter((r) => !streamed.has(r))).toEqual([]);
  }, 60_000);

  it('killed: fails fast while it is gone, and comes back with the restarted server', async () => {
    const own = redis as OwnRedis;
    await own.kill();
    try {
      await eventually(() => lines('redis down') === 2, { what: "the second 'redis down'" });
      for (let i = 0; i < 3; i++) {
        const times = await round(link.code);
        for (const [name, ms] of Object.entries(times)) {
          expect({ name, fast: ms < FAST_MS, ms }).toEqual({ name, fast: true, ms });
        }
      }
    } finally {
      await own.start();
    }
    await eventually(() => lines('redis up') === 2, { timeoutMs: 10_000, what: "'redis up'" });
    // The restarted server (append-only file, fsync always) has every click, old and new.
    await eventually(streamedReferrers, (referrers) => sent.every((r) => referrers.has(r)), {
      timeoutMs: 15_000,
      what: 'every click in the stream after the restart',
    });
  }, 60_000);

  it('wrote nothing but JSON: no "[ioredis] Unhandled error event" on stderr', () => {
    const foreign = api.output.filter((line) => line.trim() !== '' && parsed(line) === null);
    expect(foreign).toEqual([]);
    expect(lines('redis down')).toBe(2);
    expect(lines('redis up')).toBe(2);
  });
});

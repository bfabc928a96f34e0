import { storedClicks, uniqueName } from '../support/clicks';
import { query, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { expectProblem, LinksClient } from '../support/http';
import { metric } from '../support/metrics';
import { runCli, spawnApi, spawnLogs, type SpawnedApi, type SpawnedLogs } from '../support/process';
import { REDIS_URL } from '../support/services';
import { createTopologyDatabase, topology, topologyUrl } from '../support/topology';

// The primary, its streaming replica and a PgBouncer (transaction pooling) in front of each, from
// scripts/pg-topology.sh; the api and the logs worker go through the PgBouncers.
jest.setTimeout(60_000);

const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
const REPLICA_RETRY_MS = 300;
/** A read whose replica stopped answering: one query time-out, then the primary; plus slack. */
const FALLBACK_BOUND_MS = QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 1500;
/** A read once the replica is known to be down goes straight to the primary. */
const DIRECT_BOUND_MS = 600;
/** A request while PgBouncer is gone: refused at once, or one connect time-out. */
const OUTAGE_BOUND_MS = CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 1500;

let codes = 0;
const unknownCode = (): string => `nolink${Date.now().toString(36)}${codes++}`;

/** Queries each pool of `app` has sent so far (`snip_db_queries_total{pool}`). */
async function queries(url: string): Promise<{ primary: number; replica: number }> {
  const [primary, replica] = await Promise.all([
    metric(url, 'snip_db_queries_total', { pool: 'primary' }),
    metric(url, 'snip_db_queries_total', { pool: 'replica' }),
  ]);
  return { primary, replica };
}

/** The queries each pool of the api at `url` sent while `action` ran. */
async function routed<T>(
  url: string,
  action: () => Promise<T>,
): Promise<{ result: T; primary: number; replica: number }> {
  const before = await queries(url);
  const result = await action();
  const after = await queries(url);
  return {
    result,
    primary: after.primary - before.primary,
    replica: after.replica - before.replica,
  };
}

const timed = async <T>(action: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await action();
  return { value, ms: performance.now() - started };
};

beforeAll(() => topology('up'), 240_000);

describe('migrations through PgBouncer (transaction pooling)', () => {
  let db: TestDatabase | undefined;

  afterAll(() => db?.drop());

  it('applies each migration once when two runs race, and leaves no lock behind', async () => {
    db = await createTopologyDatabase('snip_topo_migrate');
    const env = { DATABASE_URL: topologyUrl('bouncer-primary', db.name) };
    const runs = await Promise.all([
      runCli(['migration:run'], env),
      runCli(['migration:run'], env),
    ]);
    for (const { code, output } of runs) expect({ code, output }).toEqual({ code: 0, output });
    const rows = await query<{ name: string }>(db.url, 'SELECT name FROM schema_migrations');
    const names = rows.map((row) => row.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    // Exactly one of the two applied them; the other waited for its lock and found none pending.
    expect(runs.filter((r) => r.output.includes('"msg":"migrations applied"'))).toHaveLength(1);

    // The lock is a transaction's: none is left behind on a server connection PgBouncer keeps.
    const locks = await query<{ n: string }>(
      db.url,
      `SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory'`,
    );
    expect(locks[0]?.n).toBe('0');
  });
});

describe('api and logs worker on a primary and a replica behind PgBouncer', () => {
  const stream = uniqueName('clicks-topology');
  let db: TestDatabase;
  let api: SpawnedApi;
  let logs: SpawnedLogs;
  let links: LinksClient;

  beforeAll(async () => {
    db = await createTopologyDatabase('snip_topo');
    const env = {
      DATABASE_URL: topologyUrl('bouncer-primary', db.name),
      DATABASE_REPLICA_URLS: topologyUrl('bouncer-replica', db.name),
      DATABASE_POOL_SIZE: '4',
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_REPLICA_RETRY_MS: String(REPLICA_RETRY_MS),
      CLICKS_TRANSPORT: 'redis-streams',
      CLICKS_REDIS_URL: REDIS_URL,
      REDIS_KEY_PREFIX: 'snip-test:',
      CLICKS_STREAM: stream,
      CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
      CLICKS_BATCH_INTERVAL_MS: '50',
      CLICKS_PUBLISH_INTERVAL_MS: '20',
      LOG_LEVEL: 'info',
    };
    // The api migrates on boot (the test profile), through PgBouncer too.
    api = await spawnApi({ env });
    logs = await spawnLogs(env);
    links = new LinksClient(api.url);
  }, 90_000);

  afterAll(async () => {
    // Whatever a failed test left stopped or frozen is started again for the next suite.
    await topology('up');
    await logs?.stop('SIGKILL');
    await api?.stop('SIGKILL');
    await db?.drop();
  }, 60_000);

  /** A list read from the replica: it counts replica queries and no primary ones. */
  const expectListFromReplica = (): Promise<unknown> =>
    eventually(
      () => routed(api.url, () => links.list('?limit=5')),
      (r) => r.result.status === 200 && r.replica > 0 && r.primary === 0,
      { timeoutMs: 10_000, intervalMs: 100, what: 'the link list to be read from the replica' },
    );

  it('reads lists and stats from the replica, everything else from the primary', async () => {
    const created = await routed(api.url, () => links.create({ url: 'https://example.com/a' }));
    expect({ primary: created.primary > 0, replica: created.replica }).toEqual({
      primary: true,
      replica: 0,
    });
    const code = created.result.code;

    const one = await routed(api.url, () => links.get(code));
    expect(one.result.status).toBe(200);
    expect(one.replica).toBe(0);

    const missing = await routed(api.url, () => links.redirect(`/${unknownCode()}`));
    expect(missing.result.status).toBe(404);
    expect({ primary: missing.primary > 0, replica: missing.replica }).toEqual({
      primary: true,
      replica: 0,
    });

    const followed = await routed(api.url, () => links.redirect(`/${code}`));
    expect(followed.result.status).toBe(302);
    expect(followed.replica).toBe(0);

    // The replica may lag a moment behind the create: the list is read there all the same.
    const list = await routed(api.url, () => links.list('?limit=5'));
    expect(list.result.status).toBe(200);
    expect({ primary: list.primary, replica: list.replica > 0 }).toEqual({
      primary: 0,
      replica: true,
    });

    const stats = await routed(api.url, () =>
      fetch(`${api.url}/api/v1/links/${code}/stats`).then((r) => r.status),
    );
    expect(stats.result).toBe(200);
    expect(stats.replica).toBeGreaterThan(0);

    // The worker stores the click on the primary; its replica pool stays idle.
    await eventually(async () => (await storedClicks(db.url, code)).rows === 1, {
      timeoutMs: 15_000,
      what: 'the logs worker to store the click',
    });
    const worker = await queries(logs.url);
    expect({ primary: worker.primary > 0, replica: worker.replica }).toEqual({
      primary: true,
      replica: 0,
    });

    const ready = await fetch(`${api.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      details: { replica: { status: 'up', up: 1 } },
    });
  });

  it('never answers 404 for a link just created while the replica does not replay', async () => {
    const replica = topologyUrl('replica', db.name);
    await query(replica, 'SELECT pg_wal_replay_pause()');
    try {
      await eventually(
        async () =>
          (await query<{ s: string }>(replica, 'SELECT pg_get_wal_replay_pause_state() AS s'))[0]
            ?.s === 'paused',
        { what: 'replay to pause' },
      );
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { code } = await links.create({ url: `https://example.com/fresh/${i}` });
        made.push(code);
        expect((await links.get(code)).status).toBe(200);
        expect((await links.redirect(`/${code}`)).status).toBe(302);
      }
      // Measured, not assumed: the replica really was behind (the list, read there, lacks them).
      const listed = (await (await links.list('?limit=100')).json()) as {
        items: { code: string }[];
      };
      const codes = new Set(listed.items.map((item) => item.code));
      expect(made.filter((code) => codes.has(code))).toEqual([]);
    } finally {
      await query(replica, 'SELECT pg_wal_replay_resume()');
    }
  });

  /** While the replica is out: lists still answer, from the primary, within the bounds. */
  async function expectFallback(): Promise<void> {
    const first = await timed(() => links.list('?limit=5'));
    expect(first.value.status).toBe(200);
    expect(first.ms).toBeLessThan(FALLBACK_BOUND_MS);
    // Known to be down now: no time-out waited out again.
    for (let i = 0; i < 3; i++) {
      const next = await timed(() => routed(api.url, () => links.list('?limit=5')));
      expect(next.value.result.status).toBe(200);
      expect(next.value.primary).toBeGreaterThan(0);
      expect(next.ms).toBeLessThan(DIRECT_BOUND_MS);
    }
    const stats = await fetch(
      `${api.url}/api/v1/links/${(await links.create({ url: 'https://example.com/s' })).code}/stats`,
    );
    expect(stats.status).toBe(200);
    const ready = await timed(() => fetch(`${api.url}/health/ready`));
    expect(ready.value.status).toBe(200);
    expect(await ready.value.json()).toMatchObject({
      status: 'degraded',
      details: { database: { status: 'up' }, replica: { status: 'degraded', up: 0 } },
    });
    expect(ready.ms).toBeLessThan(DIRECT_BOUND_MS);
  }

  it('falls back to the primary while the replica is stopped, and returns to it', async () => {
    await expectListFromReplica();
    await topology('stop', 'replica');
    try {
      await expectFallback();
    } finally {
      await topology('up');
    }
    await expectListFromReplica();
    const ready = await fetch(`${api.url}/health/ready`);
    expect(await ready.json()).toMatchObject({ details: { replica: { status: 'up' } } });
  });

  it('falls back to the primary while the replica is frozen, and returns to it', async () => {
    await expectListFromReplica();
    await topology('freeze', 'replica');
    try {
      await expectFallback();
    } finally {
      await topology('thaw', 'replica');
    }
    await expectListFromReplica();
  });

  it('answers 503 with Retry-After while PgBouncer restarts, then serves without a restart', async () => {
    const before = await links.create({ url: 'https://example.com/before-bouncer' });
    await topology('stop', 'bouncer-primary');
    try {
      const requests: Array<[string, () => Promise<Response>]> = [
        ['POST /api/v1/links', () => links.post({ url: 'https://example.com/gap' })],
        ['GET /api/v1/links/:code', () => links.get(unknownCode())],
        ['GET /:code', () => links.redirect(`/${unknownCode()}`)],
        ['POST /api/v1/links', () => links.post({ url: 'https://example.com/gap2' })],
      ];
      for (const [what, send] of requests) {
        const { value: res, ms } = await timed(send);
        expect({ what, status: res.status }).toEqual({ what, status: 503 });
        expect(res.headers.get('retry-after')).toBe('5');
        await expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
        expect(ms).toBeLessThan(OUTAGE_BOUND_MS);
      }
      // Lists are the replica's, whose PgBouncer is still there.
      expect((await links.list('?limit=5')).status).toBe(200);
    } finally {
      await topology('up');
    }
    await eventually(
      async () => (await links.post({ url: 'https://example.com/after' })).status === 201,
      {
        timeoutMs: 10_000,
        what: 'creates to succeed again',
      },
    );
    expect((await links.get(before.code)).status).toBe(200);
    expect((await links.redirect(`/${unknownCode()}`)).status).toBe(404);
    const log = api.output.join('\n');
    expect(log).not.toContain('"msg":"request failed"');
    expect(log).not.toMatch(/\n\s+at /);
  });
});

import * as amqp from 'amqplib';
import { Redis } from 'ioredis';
import { createClickEvent } from '@app/clicks';
import {
  createLink,
  exactlyOnce,
  fireRedirects,
  OwnRedis,
  pipelineIdle,
  storedClicks,
  storedVisitors,
  storedIndexes,
  uniqueName,
} from '../support/clicks';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { metric } from '../support/metrics';
import { spawnApi, spawnLogs, type SpawnedApi, type SpawnedLogs } from '../support/process';
import { RABBITMQ_URL, REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The delivery guarantee of the click pipeline, on real PostgreSQL, Redis and RabbitMQ: every
 * redirect's event is stored exactly once, through worker crashes, a database outage, a broker
 * restart and poison messages. Runs the built apps (`npm run build` first) as processes.
 */
const N = 5000;
const LAND_MS = 90_000;
jest.setTimeout(180_000);

type Transport = 'redis-streams' | 'rmq';

interface Names {
  readonly stream: string;
  readonly queue: string;
}

function transportEnv(
  transport: Transport,
  names: Names,
  urls: { redis?: string; rabbitmq?: string } = {},
): Record<string, string> {
  const common = {
    CLICKS_TRANSPORT: transport,
    CLICKS_BATCH_INTERVAL_MS: '100',
    CLICKS_PUBLISH_INTERVAL_MS: '20',
    CLICKS_CLAIM_IDLE_MS: '1500',
    CLICKS_MAX_DELIVERIES: '10',
    SHUTDOWN_GRACE_MS: '15000',
    LOG_LEVEL: 'info',
  };
  return transport === 'redis-streams'
    ? {
        ...common,
        CLICKS_REDIS_URL: urls.redis ?? REDIS_URL,
        REDIS_KEY_PREFIX: 'snip-test:',
        CLICKS_STREAM: names.stream,
        CLICKS_DEAD_LETTER_STREAM: `${names.stream}:dead`,
      }
    : {
        ...common,
        RABBITMQ_URL: urls.rabbitmq ?? RABBITMQ_URL,
        CLICKS_QUEUE: names.queue,
        CLICKS_DEAD_LETTER_QUEUE: `${names.queue}.dead`,
      };
}

async function removeBrokerState(transport: Transport, names: Names): Promise<void> {
  if (transport === 'redis-streams') {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    await redis.del(`snip-test:${names.stream}`, `snip-test:${names.stream}:dead`);
    await redis.quit();
    return;
  }
  const connection = await amqp.connect(RABBITMQ_URL);
  const channel = await connection.createChannel();
  await channel.deleteQueue(names.queue).catch(() => undefined);
  await connection.close().catch(() => undefined);
  const again = await amqp.connect(RABBITMQ_URL);
  const channel2 = await again.createChannel();
  await channel2.deleteQueue(`${names.queue}.dead`).catch(() => undefined);
  await again.close().catch(() => undefined);
}

/** What is stored for `code` once it is at least `n` clicks, checked every `intervalMs`. */
const storedAtLeast = (db: TestDatabase, code: string, n: number, intervalMs = 250) =>
  eventually(
    () => storedClicks(db.url, code),
    (s) => s.rows >= n,
    { timeoutMs: LAND_MS, intervalMs, what: `${n} clicks stored for ${code}` },
  );

/** The run's route, for pipelineIdle. */
const pipelineOf = ({ apiUrl, transport, names }: Pipeline): Promise<boolean> =>
  pipelineIdle(
    transport === 'redis-streams'
      ? { apiUrls: [apiUrl], stream: `snip-test:${names.stream}` }
      : { apiUrls: [apiUrl], queue: names.queue },
  );

/** Where a run's events travel: the api that publishes them, and the broker that carries them. */
interface Pipeline {
  readonly apiUrl: string;
  readonly transport: Transport;
  readonly names: Names;
}

/** Stored rows for `code` once they reach `n` and nothing more is on its way. */
async function landed(db: TestDatabase, code: string, n: number, pipeline: Pipeline) {
  await storedAtLeast(db, code, n);
  // A straggler (a duplicate, or worse) would come from what the api or the broker still holds.
  await eventually(() => pipelineOf(pipeline), {
    timeoutMs: LAND_MS,
    intervalMs: 250,
    what: 'the api and the broker to hold no more events',
  });
  return storedClicks(db.url, code);
}

async function expectExactlyN(
  db: TestDatabase,
  code: string,
  tag: string,
  n: number,
  pipeline: Pipeline,
): Promise<void> {
  const stored = await landed(db, code, n, pipeline);
  expect(stored).toEqual({ rows: n, distinctIds: n, distinctReferrers: n, rollupTotal: n });
  expect(exactlyOnce(await storedIndexes(db.url, code, tag), n)).toBeNull();
  // One browser on one address: one visitor a day, counted once whatever was redelivered.
  const visitors = await storedVisitors(db.url, code);
  expect(visitors).toEqual({ rollup: visitors.days, set: visitors.days, days: visitors.days });
  expect(visitors.days).toBeGreaterThanOrEqual(1);
}

describe.each<Transport>(['redis-streams', 'rmq'])('click pipeline over %s', (transport) => {
  const names: Names = { stream: uniqueName('clicks'), queue: uniqueName('snip-clicks') };
  const env = transportEnv(transport, names);
  const { db, api } = useTestApi({ env, databasePrefix: 'snip_clicks', setupTimeoutMs: 90_000 });
  const pipeline = (): Pipeline => ({ apiUrl: api.url, transport, names });
  const workers: SpawnedLogs[] = [];
  const worker = async (extra: Record<string, string> = {}): Promise<SpawnedLogs> => {
    const spawned = await spawnLogs({ ...env, DATABASE_URL: db.url, ...extra });
    workers.push(spawned);
    return spawned;
  };

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });

  afterAll(async () => {
    await removeBrokerState(transport, names).catch(() => undefined);
  });

  it(`1. stores the events of ${N} redirects exactly once`, async () => {
    await worker();
    const { code } = await createLink(api.url);
    const statuses = await fireRedirects(api.url, code, N, { tag: 'p1' });
    expect(statuses).toEqual(new Map([[302, N]]));
    await expectExactlyN(db, code, 'p1', N, pipeline());
    expect(await metric(api.url, 'snip_clicks_dropped_total')).toBe(0);
  });

  it('2a. still exactly N when the worker is SIGKILLed mid-stream and restarted', async () => {
    const first = await worker();
    const { code } = await createLink(api.url);
    const firing = fireRedirects(api.url, code, N, { tag: 'p2a', concurrency: 16 });
    await storedAtLeast(db, code, 500, 50);
    await first.stop('SIGKILL');
    const before = (await storedClicks(db.url, code)).rows;
    expect(before).toBeLessThan(N);
    await worker();
    expect(await firing).toEqual(new Map([[302, N]]));
    await expectExactlyN(db, code, 'p2a', N, pipeline());
  });

  it('2b. still exactly N with two workers of which one is SIGKILLed', async () => {
    const doomed = await worker();
    await worker();
    const { code } = await createLink(api.url);
    const firing = fireRedirects(api.url, code, N, { tag: 'p2b', concurrency: 16 });
    await storedAtLeast(db, code, 500, 50);
    await doomed.stop('SIGKILL');
    expect(await firing).toEqual(new Map([[302, N]]));
    await expectExactlyN(db, code, 'p2b', N, pipeline());
  });

  it('3. still exactly N when PostgreSQL goes away while events flow, and the worker retries', async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    await proxy.open();
    try {
      const logs = await worker({ DATABASE_URL: proxy.rewrite(db.url) });
      const { code } = await createLink(api.url);
      const firing = fireRedirects(api.url, code, N, { tag: 'p3', concurrency: 16 });
      await storedAtLeast(db, code, 500, 50);
      await proxy.cut();
      const failuresBefore = await metric(logs.url, 'snip_clicks_store_failures_total');
      // The database stays away until the worker has failed and retried (with backoff) a few
      // times, events arriving meanwhile.
      await eventually(
        () => metric(logs.url, 'snip_clicks_store_failures_total'),
        (failures) => failures >= failuresBefore + 4,
        { timeoutMs: 30_000, intervalMs: 200, what: 'the worker to retry the insert' },
      );
      expect((await storedClicks(db.url, code)).rows).toBeLessThan(N);
      await proxy.open();
      expect(await firing).toEqual(new Map([[302, N]]));
      await expectExactlyN(db, code, 'p3', N, pipeline());
    } finally {
      await proxy.cut();
    }
  });
});

describe('broker restarted during redirects', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('snip_clicks_broker');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('4. redis-streams (SIGKILL and restart): every redirect answers and every event lands', async () => {
    const redis = new OwnRedis();
    const names: Names = { stream: uniqueName('clicks'), queue: '' };
    let api: SpawnedApi | undefined;
    let logs: SpawnedLogs | undefined;
    try {
      await redis.start();
      const env = {
        ...transportEnv('redis-streams', names, { redis: redis.url }),
        DATABASE_URL: db.url,
      };
      api = await spawnApi({ env });
      logs = await spawnLogs(env);
      const { code } = await createLink(api.url);
      const apiUrl = api.url;
      let restarted: Promise<void> | undefined;
      const statuses = await fireRedirects(apiUrl, code, N, {
        tag: 'p4r',
        concurrency: 8,
        onProgress: (sent) => {
          if (sent === 1500) {
            restarted = (async () => {
              const failures = await metric(apiUrl, 'snip_clicks_publish_failures_total');
              await redis.kill();
              // Redis stays away until the api has failed to publish to it (and buffers).
              await eventually(
                () => metric(apiUrl, 'snip_clicks_publish_failures_total'),
                (now) => now > failures,
                { timeoutMs: 30_000, intervalMs: 100, what: 'a failed publish' },
              );
              await redis.start();
            })();
          }
        },
      });
      await restarted;
      expect(statuses).toEqual(new Map([[302, N]]));
      const dropped = await metric(apiUrl, 'snip_clicks_dropped_total');
      // Waits until every event is stored or counted as dropped.
      const stored = await storedAtLeast(db, code, N - dropped);
      // The buffer (100,000) outlasts the outage: nothing dropped, everything stored once.
      expect(dropped).toBe(0);
      expect(stored).toEqual({ rows: N, distinctIds: N, distinctReferrers: N, rollupTotal: N });
      expect(exactlyOnce(await storedIndexes(db.url, code, 'p4r'), N)).toBeNull();
      expect(await metric(apiUrl, 'snip_clicks_publish_failures_total')).toBeGreaterThan(0);
    } finally {
      await logs?.stop('SIGKILL');
      await api?.stop('SIGKILL');
      await redis.destroy();
    }
  });

  describe.each(['redis-streams', 'rmq'] as const)('4. the logs worker over %s', (transport) => {
    it('is not ready while its broker is away, and ready again once it is back', async () => {
      const redis = new OwnRedis();
      const proxy = new TcpProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
      const outage =
        transport === 'redis-streams'
          ? { start: () => redis.start(), stop: () => redis.kill() }
          : { start: () => proxy.open(), stop: () => proxy.cut() };
      let logs: SpawnedLogs | undefined;
      const names: Names = { stream: uniqueName('clicks'), queue: uniqueName('snip-clicks') };
      const ready = async (): Promise<{ status: number; broker?: string; database?: string }> => {
        const res = await fetch(`${logs!.url}/health/ready`);
        const body = (await res.json()) as { details?: Record<string, { status: string }> };
        return {
          status: res.status,
          broker: body.details?.broker?.status,
          database: body.details?.database?.status,
        };
      };
      try {
        await outage.start();
        logs = await spawnLogs({
          ...transportEnv(transport, names, {
            redis: redis.url,
            rabbitmq: proxy.rewrite(RABBITMQ_URL),
          }),
          DATABASE_URL: db.url,
        });
        expect(await ready()).toEqual({ status: 200, broker: 'up', database: 'up' });
        await outage.stop();
        const down = await eventually(ready, (r) => r.status === 503, {
          timeoutMs: 15_000,
          what: 'readiness to report the broker down',
        });
        expect(down).toEqual({ status: 503, broker: 'down', database: 'up' });
        await outage.start();
        await eventually(ready, (r) => r.status === 200 && r.broker === 'up', {
          timeoutMs: 30_000,
          what: 'readiness to report the broker back',
        });
      } finally {
        await logs?.stop('SIGKILL');
        await redis.destroy();
        await proxy.cut().catch(() => undefined);
        if (transport === 'rmq') await removeBrokerState(transport, names);
      }
    });
  });

  it('4. rmq: every redirect answers; with a small buffer the overflow is dropped and counted', async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
    const names: Names = { stream: '', queue: uniqueName('snip-clicks') };
    const BUFFER = 1000;
    let api: SpawnedApi | undefined;
    let logs: SpawnedLogs | undefined;
    try {
      await proxy.open();
      const env = {
        ...transportEnv('rmq', names, { rabbitmq: proxy.rewrite(RABBITMQ_URL) }),
        DATABASE_URL: db.url,
        CLICKS_BUFFER_MAX: String(BUFFER),
      };
      api = await spawnApi({ env });
      logs = await spawnLogs(env);
      const apiUrl = api.url;
      // Warm up on another link, so the publisher's connection is open before the run.
      const warm = await createLink(apiUrl);
      await fireRedirects(apiUrl, warm.code, 20, { tag: 'warm' });
      await eventually(
        () => storedClicks(db.url, warm.code),
        (s) => s.rows === 20,
        { timeoutMs: LAND_MS, intervalMs: 200 },
      );

      const { code } = await createLink(apiUrl);
      let droppedBeforeCut = -1;
      let restarted: Promise<void> | undefined;
      const statuses = await fireRedirects(apiUrl, code, N, {
        tag: 'p4q',
        concurrency: 8,
        onProgress: (sent) => {
          if (sent !== 1500) return;
          restarted = (async () => {
            droppedBeforeCut = await metric(apiUrl, 'snip_clicks_dropped_total');
            await proxy.cut();
            // The broker stays away until the buffer has overflowed (redirects keep coming).
            await eventually(
              () => metric(apiUrl, 'snip_clicks_dropped_total'),
              (dropped) => dropped > droppedBeforeCut,
              { timeoutMs: 60_000, intervalMs: 100 },
            );
            await proxy.open();
          })();
        },
      });
      await restarted;
      expect(statuses).toEqual(new Map([[302, N]]));
      const dropped = await metric(apiUrl, 'snip_clicks_dropped_total');
      // Waits until every event is stored or counted as dropped.
      const stored = await storedAtLeast(db, code, N - dropped);
      // Nothing was dropped before the outage; during it the buffer overflowed, and every event
      // dropped is counted: stored + dropped is exactly N, and what was stored is stored once.
      expect(droppedBeforeCut).toBe(0);
      expect(dropped).toBeGreaterThan(0);
      expect(stored.rows + dropped).toBe(N);
      expect(stored.distinctIds).toBe(stored.rows);
      expect(stored.rollupTotal).toBe(stored.rows);
      const indexes = await storedIndexes(db.url, code, 'p4q');
      expect(new Set(indexes).size).toBe(indexes.length);
      expect(indexes.every((i) => i >= 0 && i < N)).toBe(true);
      // Events sent more than a buffer's worth of requests before the cut had been confirmed by
      // the broker: all of them landed.
      const early = 1500 - BUFFER;
      expect(
        exactlyOnce(
          indexes.filter((i) => i < early),
          early,
        ),
      ).toBeNull();
      expect(await metric(apiUrl, 'snip_clicks_publish_failures_total')).toBeGreaterThan(0);
    } finally {
      await logs?.stop('SIGKILL');
      await api?.stop('SIGKILL');
      await proxy.cut();
      await removeBrokerState('rmq', names).catch(() => undefined);
    }
  });
});

describe('malformed events', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('snip_clicks_poison');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const VALID = 200;

  it('5. redis-streams: go to the dead-letter stream, counted, and the worker keeps going', async () => {
    const names: Names = { stream: uniqueName('clicks'), queue: '' };
    const env = { ...transportEnv('redis-streams', names), DATABASE_URL: db.url };
    const redis = new Redis(REDIS_URL);
    const stream = `snip-test:${names.stream}`;
    let api: SpawnedApi | undefined;
    let logs: SpawnedLogs | undefined;
    try {
      api = await spawnApi({ env });
      // A well-formed event that (as far as the group knows) has already been delivered 50 times
      // to a consumer that never acknowledged it: a message that kills workers. The worker claims
      // it (idle for an hour) and must dead-letter it rather than try it again.
      const poison = createClickEvent({ id: '1', code: 'x' }, { method: 'GET' }, null);
      const poisonId = await redis.xadd(stream, '*', 'p', 'click', 'd', JSON.stringify(poison));
      await redis.xgroup('CREATE', stream, 'logs', '0', 'MKSTREAM');
      await redis.xreadgroup('GROUP', 'logs', 'ghost', 'COUNT', 1, 'STREAMS', stream, '>');
      await redis.xclaim(
        stream,
        'logs',
        'ghost',
        0,
        poisonId!,
        'IDLE',
        3_600_000,
        'RETRYCOUNT',
        50,
      );
      logs = await spawnLogs(env);
      await redis.xadd(stream, '*', 'p', 'click', 'd', '{not json');
      await redis.xadd(stream, '*', 'p', 'something-else', 'd', '{}');
      await redis.xadd(stream, '*', 'p', 'click', 'd', JSON.stringify({ v: 1, id: 'nope' }));
      await redis.xadd(stream, '*', 'unexpected', 'fields');
      const { code } = await createLink(api.url);
      await fireRedirects(api.url, code, VALID, { tag: 'p5r' });
      await expectExactlyN(db, code, 'p5r', VALID, {
        apiUrl: api.url,
        transport: 'redis-streams',
        names,
      });
      const dead = await eventually(
        () => redis.xrange(`${stream}:dead`, '-', '+'),
        (d) => d.length >= 5,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const reasons = dead.map(([, fields]) => fields[fields.indexOf('reason') + 1]).sort();
      expect(reasons).toEqual([
        'id is not a UUIDv7',
        'max_deliveries',
        'undecodable',
        'undecodable',
        'unknown_pattern',
      ]);
      expect(await metric(logs.url, 'snip_clicks_dead_lettered_total')).toBe(5);
      expect(
        await metric(logs.url, 'snip_clicks_dead_lettered_total', { reason: 'max_deliveries' }),
      ).toBe(1);
      const [pending] = (await redis.xpending(stream, 'logs')) as [number];
      expect(pending).toBe(0);
    } finally {
      await logs?.stop('SIGKILL');
      await api?.stop('SIGKILL');
      await redis.del(stream, `${stream}:dead`);
      await redis.quit();
    }
  });

  it('5. rmq: go to the dead-letter queue, counted, and the worker keeps going', async () => {
    const names: Names = { stream: '', queue: uniqueName('snip-clicks') };
    const env = { ...transportEnv('rmq', names), DATABASE_URL: db.url };
    let api: SpawnedApi | undefined;
    let logs: SpawnedLogs | undefined;
    const connection = await amqp.connect(RABBITMQ_URL);
    try {
      api = await spawnApi({ env });
      logs = await spawnLogs(env);
      const channel = await connection.createConfirmChannel();
      const send = (body: string): boolean =>
        channel.sendToQueue(names.queue, Buffer.from(body), { persistent: true });
      send('not json at all');
      send(JSON.stringify({ pattern: 'something-else', data: {} }));
      send(JSON.stringify({ pattern: 'click', data: { v: 1, id: 'nope' } }));
      await channel.waitForConfirms();
      const { code } = await createLink(api.url);
      await fireRedirects(api.url, code, VALID, { tag: 'p5q' });
      await expectExactlyN(db, code, 'p5q', VALID, { apiUrl: api.url, transport: 'rmq', names });
      const depth = await eventually(
        async () => (await channel.checkQueue(`${names.queue}.dead`)).messageCount,
        (count) => count >= 3,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(depth).toBe(3);
      expect(await metric(logs.url, 'snip_clicks_dead_lettered_total')).toBe(3);
      expect((await channel.checkQueue(names.queue)).messageCount).toBe(0);
    } finally {
      await logs?.stop('SIGKILL');
      await api?.stop('SIGKILL');
      await connection.close().catch(() => undefined);
      await removeBrokerState('rmq', names).catch(() => undefined);
    }
  });
});

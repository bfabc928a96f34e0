import * as amqp from 'amqplib';
import { Redis } from 'ioredis';
import {
  exactlyOnce,
  fireRedirects,
  OwnRedis,
  pipelineIdle,
  storedClicks,
  storedIndexes,
  uniqueName,
} from '../support/clicks';
import { query } from '../support/database';
import { eventually } from '../support/eventually';
import { expectProblem, LinksClient, type LinkBody } from '../support/http';
import { metric } from '../support/metrics';
import { OwnPostgres } from '../support/own-postgres';
import { spawnApi, spawnLogs, type SpawnedApi, type SpawnedLogs } from '../support/process';
import { RABBITMQ_URL, REDIS_URL } from '../support/services';

/**
 * Degraded mode: the api and a logs worker on a PostgreSQL cluster the test owns, stopped while
 * cached links keep redirecting. Every click of a 302 is stored exactly once after the restart.
 * The link cache's L2 is a Redis of the test's own too, so that it can be killed; the click stream
 * lives on the shared Redis (redis-streams) or on the shared RabbitMQ (rmq).
 */
jest.setTimeout(180_000);

type Transport = 'redis-streams' | 'rmq';

const L1_TTL_MS = 300;
/** Redirects of each link while the database is down. */
const N = 300;
const CATCH_UP_MS = 60_000;

let codes = 0;
const unknownCode = (): string => `nolink${Date.now().toString(36)}${codes++}`;

/** The only statuses seen were `count` 302s. */
const only302 = (statuses: Map<number, number>, count: number) =>
  expect([...statuses]).toEqual([[302, count]]);

describe.each<Transport>(['redis-streams', 'rmq'])(
  'PostgreSQL down, clicks over %s',
  (transport) => {
    const pg = new OwnPostgres();
    const cacheRedis = new OwnRedis();
    const prefix = `${uniqueName('snip-down')}:`;
    const stream = uniqueName('clicks');
    const queue = uniqueName('snip-down');
    let api: SpawnedApi | undefined;
    let logs: SpawnedLogs | undefined;
    let databaseUrl = '';

    const theApi = (): SpawnedApi => {
      if (!api) throw new Error('the api did not start');
      return api;
    };

    beforeAll(async () => {
      await Promise.all([pg.start(), cacheRedis.start()]);
      await query(pg.url(), 'CREATE DATABASE snip');
      databaseUrl = pg.url('snip');
      const env: Record<string, string> = {
        DATABASE_URL: databaseUrl,
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        DATABASE_QUERY_TIMEOUT_MS: '1000',
        REDIS_URL: cacheRedis.url,
        REDIS_KEY_PREFIX: prefix,
        CACHE_L1_TTL_MS: String(L1_TTL_MS),
        CLICKS_TRANSPORT: transport,
        CLICKS_BATCH_INTERVAL_MS: '100',
        CLICKS_PUBLISH_INTERVAL_MS: '20',
        LOG_LEVEL: 'info',
        ...(transport === 'redis-streams'
          ? {
              CLICKS_REDIS_URL: REDIS_URL,
              CLICKS_STREAM: stream,
              CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
            }
          : {
              RABBITMQ_URL,
              CLICKS_QUEUE: queue,
              CLICKS_DEAD_LETTER_QUEUE: `${queue}.dead`,
            }),
      };
      api = await spawnApi({ env });
      logs = await spawnLogs(env);
    }, 90_000);

    afterAll(async () => {
      await api?.stop('SIGKILL');
      await logs?.stop('SIGKILL');
      await Promise.all([pg.destroy(), cacheRedis.destroy()]);
      await removeBrokerState();
    });

    async function removeBrokerState(): Promise<void> {
      if (transport === 'redis-streams') {
        const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
        await redis.del(`${prefix}${stream}`, `${prefix}${stream}:dead`).catch(() => undefined);
        redis.disconnect();
        return;
      }
      const connection = await amqp.connect(RABBITMQ_URL);
      const channel = await connection.createChannel();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.deleteQueue(`${queue}.dead`).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }

    const readiness = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${theApi().url}/health/ready`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    /** Creating a link and an unknown code need the database: 503 with Retry-After. */
    async function expectDatabaseNeeded(links: LinksClient): Promise<void> {
      for (const res of [
        await links.post({ url: 'https://example.com/while-down' }),
        await links.redirect(`/${unknownCode()}`),
      ]) {
        expect(res.headers.get('retry-after')).toBe('5');
        await expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
      }
    }

    it('keeps redirecting cached links, and stores each of their clicks once when it is back', async () => {
      const { url } = theApi();
      const links = new LinksClient(url);
      const fromL2: LinkBody = await links.create({ url: 'https://example.com/l2' });
      const fromL1: LinkBody = await links.create({ url: 'https://example.com/l1' });
      const sent = new Map<string, number>([
        [fromL2.code, 0],
        [fromL1.code, 0],
      ]);
      /** `count` redirects of `code`, numbered on from the last; all must be 302. */
      const follow = async (code: string, count: number, concurrency = 8): Promise<void> => {
        const start = sent.get(code) ?? 0;
        const statuses = await fireRedirects(url, code, count, { tag: code, start, concurrency });
        sent.set(code, start + count);
        only302(statuses, count);
      };
      // Both warm in L1 and L2 (creation wrote L2 through; the redirect fills L1).
      await follow(fromL2.code, 1);
      await follow(fromL1.code, 1);

      await pg.stop('fast');
      // One link leaves L2 (as if its L2 TTL had run out): only the expired L1 entry is left of it.
      const l2 = new Redis(cacheRedis.url, { maxRetriesPerRequest: 1 });
      expect(await l2.del(`${prefix}cache:link:${fromL1.code}`)).toBe(1);
      l2.disconnect();
      // Until its L1 entry has expired and been served stale (stale-if-error) at least once.
      const stale = () => metric(url, 'snip_cache_lookups_total', { tier: 'l1', result: 'stale' });
      await eventually(
        async () => {
          await follow(fromL1.code, 1);
          return stale();
        },
        (served) => served > 0,
        { timeoutMs: 10_000, intervalMs: L1_TTL_MS / 3, what: 'an expired L1 entry served' },
      );
      await follow(fromL2.code, N);
      await follow(fromL1.code, N);
      await expectDatabaseNeeded(links);

      // Redis (the shared cache) answers: the instance stays in rotation.
      const degraded = await readiness();
      expect(degraded).toMatchObject({
        status: 200,
        body: {
          status: 'degraded',
          info: {
            database: { status: 'degraded', reachable: false },
            redis: { status: 'up' },
          },
        },
      });

      // Without Redis either, cached links still redirect (L1, stale) but readiness fails.
      await cacheRedis.kill();
      await follow(fromL2.code, N);
      await follow(fromL1.code, N);
      await expectDatabaseNeeded(links);
      const down = await readiness();
      expect(down).toMatchObject({
        status: 503,
        body: { status: 'error', error: { database: { status: 'down' } } },
      });

      // The worker kept the events unacknowledged, retrying, and did not crash.
      const worker = logs as SpawnedLogs;
      await eventually(
        () => worker.output.some((line) => line.includes('storing clicks failed; retrying')),
        { timeoutMs: 15_000, what: 'the worker to retry storing clicks' },
      );
      expect(worker.process.exitCode).toBeNull();

      await Promise.all([pg.start(), cacheRedis.start()]);
      for (const [code, n] of sent) {
        await eventually(
          () => storedClicks(databaseUrl, code),
          (stored) => stored.rows >= n,
          { timeoutMs: CATCH_UP_MS, intervalMs: 250, what: `${n} clicks stored for ${code}` },
        );
      }
      await eventually(
        () =>
          pipelineIdle(
            transport === 'redis-streams'
              ? { apiUrls: [theApi().url], stream: `${prefix}${stream}` }
              : { apiUrls: [theApi().url], queue },
          ),
        {
          timeoutMs: CATCH_UP_MS,
          intervalMs: 250,
          what: 'the api and the broker to hold no more events',
        },
      );
      for (const [code, n] of sent) {
        expect(await storedClicks(databaseUrl, code)).toEqual({
          rows: n,
          distinctIds: n,
          distinctReferrers: n,
          rollupTotal: n,
        });
        expect(exactlyOnce(await storedIndexes(databaseUrl, code, code), n)).toBeNull();
      }
      expect(await metric(url, 'snip_clicks_dropped_total')).toBe(0);
      await eventually(async () => (await readiness()).body.status === 'ok', {
        timeoutMs: 15_000,
        what: 'readiness to be ok again',
      });
      expect(api?.process.exitCode).toBeNull();
      expect(worker.process.exitCode).toBeNull();
    });
  },
);

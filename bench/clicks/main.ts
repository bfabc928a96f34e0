import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import {
  createClickEvent,
  RedisStreamsClient,
  RmqConfirmPublisher,
  type ClickEvent,
} from '@app/clicks';
import {
  ClickEnricher,
  ClickHouseClicks,
  loadCountryLookup,
  toClickHouseRow,
  type ClickRow,
} from '@app/analytics';
import { USER_AGENTS as AGENTS } from '../support/traffic';

/**
 * The click ingestion benchmark, loopback only, bounded in events and time:
 *
 * 1. For each transport, fills the stream (or queue) with BENCH_EVENTS realistic events, starts
 *    one logs worker, and measures the rate at which it stores them (decode, validate, enrich,
 *    insert with rollups, ack), from its own `snip_clicks_inserted_total`.
 * 2. In the same run, inserts the same enriched rows with plain multi-row INSERTs of the same
 *    batch size into a fresh `clicks` table: the yardstick the worker's rate is a ratio of.
 * 3. Drives redirects at BENCH_LAG_RATE/s (default 5,000) for BENCH_LAG_SECONDS through the api
 *    and one worker over Redis Streams, and reports the redirect-to-row lag (p50, p99, max).
 * 4. With CLICKS_SINK=clickhouse (BENCH_CLICKHOUSE_URL, default http://127.0.0.1:8123; skipped
 *    with BENCH_SKIP_CLICKHOUSE=1): the worker's rate over Redis Streams into ClickHouse (and its
 *    receipts into PostgreSQL), beside batched HTTP `INSERT ... FORMAT JSONEachRow` of the same
 *    rows in batches of the same size into a copy of ClickHouse's table.
 *
 *   npm run bench:clicks    (BENCH_ONLY_CLICKHOUSE=1: the ClickHouse part alone)
 */

/** The repository (profiles in config/); npm runs scripts from there. */
const ROOT = process.cwd();
/** The build this script belongs to: its own copy, out of reach of a concurrent `npm run build`. */
const BUILD = resolve(__dirname, '../..');
const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RABBITMQ_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RMQ_EVENTS = Number(process.env.BENCH_RMQ_EVENTS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const LAG_RATE = Number(process.env.BENCH_LAG_RATE ?? 5000);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 15);
const TIMEOUT_MS = 180_000;
const CLICKHOUSE_URL = process.env.BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

/** A logs worker's environment reading `stream` (under the bench's key prefix) into `databaseUrl`. */
const streamWorkerEnv = (databaseUrl: string, stream: string): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  CLICKS_TRANSPORT: 'redis-streams',
  CLICKS_REDIS_URL: REDIS_URL,
  REDIS_KEY_PREFIX: 'snip-bench:',
  CLICKS_STREAM: stream,
  CLICKS_BATCH_SIZE: String(BATCH),
});
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
const suffix = (): string => `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const quiet = pino({ level: 'silent' });

const REFERRERS = [
  'https://www.google.com/',
  'https://news.ycombinator.com/item?id=1',
  'https://t.co/abc',
  'https://www.facebook.com/',
  undefined,
];

/** Events as the redirect would make them, for `links` links, spread over many /24 networks. */
function makeEvents(count: number, links: readonly { id: string; code: string }[]): ClickEvent[] {
  const start = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const link = links[i % links.length]!;
    const ip = `${1 + (i % 223)}.${(i >> 3) % 256}.${(i >> 11) % 256}.0`;
    return createClickEvent(
      link,
      {
        method: i % 50 === 0 ? 'HEAD' : 'GET',
        userAgent: AGENTS[i % AGENTS.length],
        referrer: REFERRERS[i % REFERRERS.length],
        acceptLanguage: 'en-GB,en;q=0.9',
      },
      ip,
      new Date(start + Math.floor(i / 10)),
    );
  });
}

interface Database {
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_DB });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(): Promise<Database> {
  const name = `snip_bench_clicks_${suffix()}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_DB);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

interface Proc {
  readonly url: string;
  stop(): Promise<void>;
}

function startNode(main: string, env: Record<string, string>, ready: RegExp): Promise<Proc> {
  // BENCH_WORKER_NODE_ARGS, such as "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the worker.
  const nodeArgs = main.includes('logs')
    ? (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
    : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(BUILD, main)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SNIP_PROFILE: 'test', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const output: string[] = [];
  return new Promise<Proc>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${main} did not start:\n${output.join('')}`)),
      60_000,
    );
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      if (output.length < 200) output.push(text);
      const match = ready.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        done({
          url: match[1],
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => fail(new Error(`${main} exited:\n${output.join('')}`)));
  });
}

const LOGS_READY = /"url":"(http:\/\/[^"]+)".*snip logs listening/;
const API_READY = /"url":"(http:\/\/[^"]+)".*snip api listening/;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Migrates `db` by starting (and stopping) the built api on it; returns link ids and codes. */
async function prepare(db: Database, links: number): Promise<{ id: string; code: string }[]> {
  const api = await startNode(
    'apps/api/src/main.js',
    {
      DATABASE_URL: db.url,
      PORT: '0',
      SHORT_CODE_SECRET: 'bench-secret-0123456789abcdef',
      LOG_LEVEL: 'info',
    },
    API_READY,
  );
  for (let i = 0; i < links; i++) {
    await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/landing/${i}` }),
    });
  }
  await api.stop();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; code: string }>(
      `SELECT id::text AS id, code FROM links ORDER BY id`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

/** Starts a worker on a pre-filled transport and measures its steady insert rate. */
async function measureWorker(
  env: Record<string, string>,
  total: number,
): Promise<{ rate: number; seconds: number }> {
  const worker = await startNode(
    'apps/logs/src/main.js',
    {
      ...env,
      LOGS_PORT: '0',
      LOG_LEVEL: 'info',
    },
    LOGS_READY,
  );
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    let t0 = 0;
    let n0 = 0;
    for (;;) {
      const inserted = await metric(worker.url, 'snip_clicks_inserted_total');
      if (t0 === 0 && inserted >= total * 0.05) {
        t0 = performance.now();
        n0 = inserted;
      }
      if (inserted >= total) {
        const seconds = (performance.now() - t0) / 1000;
        const insertSeconds = await metric(worker.url, 'snip_clicks_insert_duration_seconds_sum');
        const batches = await metric(worker.url, 'snip_clicks_insert_duration_seconds_count');
        log(
          `  ${batches} batches, mean insert ${((insertSeconds / batches) * 1000).toFixed(1)} ms ` +
            `(${Math.round(total / insertSeconds)} rows/s while inserting)`,
        );
        return { rate: (inserted - n0) / seconds, seconds };
      }
      if (Date.now() > deadline) throw new Error(`worker stored only ${inserted} of ${total}`);
      await sleep(50);
    }
  } finally {
    await worker.stop();
  }
}

const COLUMNS =
  'id, occurred_at, link_id, code, method, ip, user_agent, referrer, referrer_host, accept_language, country, browser, os, device_type, is_bot';

/** The yardstick: the same rows, multi-row INSERT of BATCH rows per statement, one connection. */
async function rawInsertRate(db: Database, rows: readonly ClickRow[]): Promise<number> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE clicks_raw (LIKE clicks INCLUDING DEFAULTS)`);
    const started = performance.now();
    for (let i = 0; i < rows.length; i += BATCH) {
      const batch = rows.slice(i, i + BATCH);
      const values: unknown[] = [];
      const tuples = batch.map((r, j) => {
        values.push(
          r.id,
          r.occurredAt,
          r.linkId,
          r.code,
          r.method,
          r.ip,
          r.userAgent,
          r.referrer,
          r.referrerHost,
          r.acceptLanguage,
          r.country,
          r.browser,
          r.os,
          r.deviceType,
          r.isBot,
        );
        return `(${Array.from({ length: 15 }, (_, k) => `$${j * 15 + k + 1}`).join(',')})`;
      });
      await client.query(`INSERT INTO clicks_raw (${COLUMNS}) VALUES ${tuples.join(',')}`, values);
    }
    return rows.length / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

async function redisStreamsRun(
  db: Database,
  links: { id: string; code: string }[],
): Promise<{ rate: number; raw: number }> {
  const stream = `bench-clicks-${suffix()}`;
  const events = makeEvents(EVENTS, links);
  const client = new RedisStreamsClient({
    connect: () => new Redis(REDIS_URL),
    stream: `snip-bench:${stream}`,
    maxLen: 10_000_000,
  });
  for (let i = 0; i < events.length; i += 1000) await client.deliver(events.slice(i, i + 1000));
  const env = streamWorkerEnv(db.url, stream);
  try {
    const { rate } = await measureWorker(env, EVENTS);
    const enricher = new ClickEnricher(await loadCountryLookup());
    const raw = await rawInsertRate(
      db,
      events.map((e) => enricher.enrich(e)),
    );
    return { rate, raw };
  } finally {
    const redis = await client.connect();
    await redis.del(`snip-bench:${stream}`);
    await client.close();
  }
}

async function rmqRun(
  db: Database,
  links: { id: string; code: string }[],
): Promise<{ rate: number; publishRate: number }> {
  const queue = `snip-bench-${suffix()}`;
  const events = makeEvents(RMQ_EVENTS, links);
  const options = {
    url: RABBITMQ_URL,
    queue,
    deadLetterQueue: `${queue}.dead`,
    queueType: 'quorum' as const,
    maxDeliveries: 5,
    confirmTimeoutMs: 30_000,
    logger: quiet,
  };
  const publisher = new RmqConfirmPublisher(options);
  const started = performance.now();
  for (let i = 0; i < events.length; i += 1000) await publisher.deliver(events.slice(i, i + 1000));
  const publishRate = events.length / ((performance.now() - started) / 1000);
  const env = {
    DATABASE_URL: db.url,
    CLICKS_TRANSPORT: 'rmq',
    RABBITMQ_URL,
    CLICKS_QUEUE: queue,
    CLICKS_DEAD_LETTER_QUEUE: `${queue}.dead`,
    CLICKS_BATCH_SIZE: String(BATCH),
  };
  try {
    const { rate } = await measureWorker(env, events.length);
    return { rate, publishRate };
  } finally {
    await publisher.close();
    const amqp = await import('amqplib');
    const connection = await amqp.connect(RABBITMQ_URL);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dead`);
    await connection.close();
  }
}

/**
 * The ClickHouse sink: a worker over Redis Streams with CLICKS_SINK=clickhouse, then the yardstick,
 * the same rows as batched HTTP `INSERT ... FORMAT JSONEachRow` (BATCH rows a request, one after
 * the other, as the worker sends them) into a copy of the table.
 */
async function clickHouseRun(
  db: Database,
  links: { id: string; code: string }[],
): Promise<{ rate: number; raw: number }> {
  const database = `snip_bench_${suffix()}`;
  const clickhouse = new ClickHouseClicks({
    url: CLICKHOUSE_URL,
    database,
    user: 'default',
    password: undefined,
    timeoutMs: 60_000,
  });
  const stream = `bench-clicks-ch-${suffix()}`;
  const events = makeEvents(EVENTS, links);
  const client = new RedisStreamsClient({
    connect: () => new Redis(REDIS_URL),
    stream: `snip-bench:${stream}`,
    maxLen: 10_000_000,
  });
  try {
    await clickhouse.migrate();
    for (let i = 0; i < events.length; i += 1000) await client.deliver(events.slice(i, i + 1000));
    const { rate } = await measureWorker(
      {
        ...streamWorkerEnv(db.url, stream),
        CLICKS_SINK: 'clickhouse',
        CLICKHOUSE_URL: CLICKHOUSE_URL,
        CLICKHOUSE_DATABASE: database,
      },
      EVENTS,
    );
    const stored = (await Promise.all(links.map((l) => clickhouse.storedRows(l.id)))).reduce(
      (a, b) => a + b,
      0,
    );
    if (stored < EVENTS) throw new Error(`ClickHouse holds ${stored} rows of ${EVENTS}`);

    const enricher = new ClickEnricher(await loadCountryLookup());
    const rows = events.map((e) => toClickHouseRow(enricher.enrich(e)));
    const sql = async (query: string, body = ''): Promise<void> => {
      const response = await fetch(`${CLICKHOUSE_URL}/?query=${encodeURIComponent(query)}`, {
        method: 'POST',
        body,
      });
      if (!response.ok) throw new Error(`ClickHouse: ${await response.text()}`);
    };
    await sql(`CREATE TABLE \`${database}\`.clicks_raw AS \`${database}\`.clicks`);
    const started = performance.now();
    for (let i = 0; i < rows.length; i += BATCH) {
      const body = rows
        .slice(i, i + BATCH)
        .map((r) => JSON.stringify(r))
        .join('\n');
      await sql(`INSERT INTO \`${database}\`.clicks_raw FORMAT JSONEachRow`, body);
    }
    const raw = rows.length / ((performance.now() - started) / 1000);
    return { rate, raw };
  } finally {
    const redis = await client.connect();
    await redis.del(`snip-bench:${stream}`);
    await client.close();
    await clickhouse.dropDatabase();
    await clickhouse.close();
  }
}

/** Redirects at LAG_RATE/s through api and worker; lag = row insert time - click time. */
async function lagRun(
  db: Database,
  links: { id: string; code: string }[],
): Promise<Record<string, number>> {
  const stream = `bench-lag-${suffix()}`;
  const env = {
    DATABASE_URL: db.url,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: REDIS_URL,
    REDIS_KEY_PREFIX: 'snip-bench:',
    CLICKS_STREAM: stream,
    SHORT_CODE_SECRET: 'bench-secret-0123456789abcdef',
    LOG_LEVEL: 'info',
  };
  const worker = await startNode('apps/logs/src/main.js', { ...env, LOGS_PORT: '0' }, LOGS_READY);
  const api = await startNode('apps/api/src/main.js', { ...env, PORT: '0' }, API_READY);
  const link = links[0]!;
  try {
    const since = new Date().toISOString();
    const result = await autocannon({
      url: `${api.url}/${link.code}`,
      connections: 50,
      overallRate: LAG_RATE,
      duration: LAG_SECONDS,
      headers: { 'user-agent': AGENTS[0]!, referer: 'https://bench.example/' },
    });
    const sent = result.requests.total;
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const deadline = Date.now() + 60_000;
      let stored = 0;
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM clicks WHERE link_id = $1 AND occurred_at >= $2`,
          [link.id, since],
        );
        stored = Number(rows[0]?.n ?? 0);
        if (stored >= sent) break;
        await sleep(250);
      }
      const { rows } = await client.query<{ p50: number; p99: number; max: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
           FROM (SELECT extract(epoch FROM received_at - occurred_at) * 1000 AS ms
                   FROM clicks WHERE link_id = $1 AND occurred_at >= $2) t`,
        [link.id, since],
      );
      return {
        sent,
        rate: sent / LAG_SECONDS,
        non3xx: result.non2xx - (result.statusCodeStats?.['302']?.count ?? 0),
        stored,
        p50: Number(rows[0]?.p50),
        p99: Number(rows[0]?.p99),
        max: Number(rows[0]?.max),
        latencyP99: result.latency.p99,
      };
    } finally {
      await client.end();
    }
  } finally {
    await api.stop();
    await worker.stop();
    const redis = new Redis(REDIS_URL);
    await redis.del(`snip-bench:${stream}`);
    await redis.quit();
  }
}

async function clickHouseReport(
  db: Database,
  links: { id: string; code: string }[],
): Promise<void> {
  const clickhouse = await clickHouseRun(db, links);
  log(
    `clickhouse sink (redis-streams worker, receipts to PostgreSQL): ${Math.round(clickhouse.rate)} events/s; raw batched HTTP JSONEachRow INSERT: ${Math.round(clickhouse.raw)} rows/s; ratio ${(clickhouse.rate / clickhouse.raw).toFixed(2)}`,
  );
}

async function main(): Promise<void> {
  const db = await createDatabase();
  try {
    log(
      `click ingestion benchmark: node ${process.version}, ${EVENTS} events (Redis), ${RMQ_EVENTS} (RabbitMQ), batch ${BATCH}`,
    );
    const links = await prepare(db, 20);
    if (process.env.BENCH_ONLY_CLICKHOUSE === '1') return await clickHouseReport(db, links);
    const redis = await redisStreamsRun(db, links);
    log(
      `redis-streams worker: ${Math.round(redis.rate)} events/s; raw multi-row INSERT: ${Math.round(redis.raw)} rows/s; ratio ${(redis.rate / redis.raw).toFixed(2)}`,
    );
    if (process.env.BENCH_SKIP_RMQ !== '1') {
      const rmq = await rmqRun(db, links);
      log(
        `rmq worker: ${Math.round(rmq.rate)} events/s (publisher with confirms: ${Math.round(rmq.publishRate)} events/s); ratio to raw ${(rmq.rate / redis.raw).toFixed(2)}`,
      );
    }
    if (process.env.BENCH_SKIP_LAG !== '1') {
      const lag = await lagRun(db, links);
      log(
        `end-to-end at ${LAG_RATE}/s target: ${Math.round(lag.rate!)} redirects/s sent, non-302 ${lag.non3xx}, stored ${lag.stored}; lag p50 ${lag.p50!.toFixed(0)} ms, p99 ${lag.p99!.toFixed(0)} ms, max ${lag.max!.toFixed(0)} ms; redirect p99 ${lag.latencyP99} ms`,
      );
    }
    if (process.env.BENCH_SKIP_CLICKHOUSE !== '1') await clickHouseReport(db, links);
  } finally {
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);

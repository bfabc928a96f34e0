import { loadavg } from 'node:os';
import { Client } from 'pg';
import { hasTaskset, startApi, startEdge, startRedisServer, type Api } from '../support/processes';
import { ensureWrk, ms, wrk, wrkFailures, type Measurement } from '../support/wrk';

/**
 * Cold start (issue 12): a freshly started api, or edge, receiving 10,000 distinct hot codes at its
 * peak rate (wrk, closed loop, every answer a 302), with and without a warm-up, side by side:
 * the first 10 seconds' rate, p50 and p99, and the database queries the burst cost (the api's
 * `snip_db_queries_total`, read before and after).
 *
 *   1. api, cold: L2 empty (a key prefix of its own), L1 empty;
 *   2. api, warm: CACHE_WARM_ON_BOOT_TOP=10000, so it loads the top codes before it listens;
 *   3. edge, cold: a fresh api and a fresh edge over an empty L2;
 *   4. edge, warm: the campaign runbook, `POST /api/v1/cache/warm {"top": 10000}` on the api, then
 *      a fresh edge with CACHE_WARM_ON_BOOT_TOP=10000.
 *
 * The process measured is pinned to core 0 and wrk to core 1; in 3 and 4 the api behind the edge
 * is not pinned. Each case starts its processes afresh with a key prefix of its own.
 *
 *   npm run bench:coldstart
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_CASES=1,2 npm run bench:coldstart
 */

const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CASES = (process.env.BENCH_CASES ?? '').split(',').filter(Boolean).map(Number);
const LINKS = 10_000;
const PREFIX = 'hot-';

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

/** The sum of `snip_db_queries_total` over its pools, from the api's /metrics. */
async function databaseQueries(api: Api): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(/^snip_db_queries_total\{[^}]*\} (\S+)$/gm)) {
    sum += Number(match[1]);
  }
  return sum;
}

interface Case {
  readonly n: number;
  readonly name: string;
  /** Starts what the case needs: the url to load, and the api whose database queries count. */
  start(): Promise<{ url: string; api: Api; stop(): Promise<void> }>;
}

async function main(): Promise<void> {
  ensureWrk();
  log(
    `load average at start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`,
  );
  const redisServer = await startRedisServer();
  const dbName = `snip_bench_cold_${process.pid}`;
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(ADMIN_DB);
  dbUrl.pathname = `/${dbName}`;
  const base = {
    DATABASE_URL: dbUrl.toString(),
    DATABASE_POOL_SIZE: '10',
    REDIS_URL: redisServer.url,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: redisServer.url,
  };
  const rows: string[] = [];
  try {
    // Schema, then 10,000 links with clicks today, the first the hottest (what --top ranks by).
    const setup = await startApi({ ...base, DATABASE_MIGRATE_ON_BOOT: 'true' });
    await setup.stop();
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    await db.query(
      `INSERT INTO links (id, code, url, is_custom, created_at, updated_at)
       SELECT 20000000 + g, $2 || g, 'https://example.com/campaign/' || g, true, now(), now()
         FROM generate_series(1, $1) g`,
      [LINKS, PREFIX],
    );
    await db.query(
      `INSERT INTO click_daily_rollups (link_id, day, total, human)
       SELECT 20000000 + g, (now() AT TIME ZONE 'UTC')::date, $1 + 1 - g, $1 + 1 - g
         FROM generate_series(1, $1) g`,
      [LINKS],
    );
    await db.query('VACUUM ANALYZE');
    await db.end();

    let run = 0;
    const fresh = (extra: Record<string, string> = {}): Record<string, string> => ({
      ...base,
      REDIS_KEY_PREFIX: `cold-${process.pid}-${++run}:`,
      ...extra,
    });
    const cases: Case[] = [
      {
        n: 1,
        name: 'api, cold',
        async start() {
          const api = await startApi(fresh(), true);
          return { url: api.url, api, stop: () => api.stop() };
        },
      },
      {
        n: 2,
        name: 'api, warm on boot (CACHE_WARM_ON_BOOT_TOP=10000)',
        async start() {
          const api = await startApi(fresh({ CACHE_WARM_ON_BOOT_TOP: String(LINKS) }), true);
          return { url: api.url, api, stop: () => api.stop() };
        },
      },
      {
        n: 3,
        name: 'edge, cold (api behind it cold too)',
        async start() {
          const env = fresh();
          const api = await startApi(env);
          const edge = await startEdge(api.url, env, true);
          return {
            url: edge.url,
            api,
            stop: async () => {
              await edge.stop();
              await api.stop();
            },
          };
        },
      },
      {
        n: 4,
        name: 'edge, warm (POST /api/v1/cache/warm top 10000, edge CACHE_WARM_ON_BOOT_TOP=10000)',
        async start() {
          const env = fresh();
          const api = await startApi(env);
          const warmed = await fetch(`${api.url}/api/v1/cache/warm`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ top: LINKS }),
          });
          if (warmed.status !== 200)
            throw new Error(`warm: ${warmed.status} ${await warmed.text()}`);
          const edge = await startEdge(
            api.url,
            { ...env, CACHE_WARM_ON_BOOT_TOP: String(LINKS) },
            true,
          );
          return {
            url: edge.url,
            api,
            stop: async () => {
              await edge.stop();
              await api.stop();
            },
          };
        },
      },
    ];
    for (const c of cases) {
      if (CASES.length > 0 && !CASES.includes(c.n)) continue;
      const started = performance.now();
      const target = await c.start();
      const readyS = (performance.now() - started) / 1000;
      try {
        const before = await databaseQueries(target.api);
        const burst: Measurement = await wrk(
          c.name,
          { url: target.url, paths: { cycle: PREFIX, count: LINKS } },
          SECONDS,
          CONNECTIONS,
          { timeoutsMeasured: true },
        );
        const queries = (await databaseQueries(target.api)) - before;
        const row =
          `| ${c.name} | ${readyS.toFixed(1)} s | ` +
          `${Math.round(burst.rps)} | ${ms(burst.p50)} | ${ms(burst.p99)} | ${burst.requests} | ${burst.timeouts} | ${queries} |`;
        rows.push(row);
        log(row);
      } finally {
        await target.stop();
      }
    }
    log('');
    log(
      '| case | start to ready (warm-up included) | req/s | p50 ms | p99 ms | redirects | timed out (> 2 s) | database queries during the burst |',
    );
    log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) log(row);
    log('');
    log(
      `first ${SECONDS} s after ready, ${CONNECTIONS} connections, closed loop, ${LINKS} codes in turn; ` +
        `measured process on core ${hasTaskset ? '0' : 'any'}, wrk on core ${hasTaskset ? '1' : 'any'}; ` +
        `load average at the end: ${loadavg()
          .map((n) => n.toFixed(2))
          .join(', ')}`,
    );
    if (wrkFailures.length > 0) {
      log(`FAILED: ${wrkFailures.length} measurements saw errors or wrong answers`);
      process.exitCode = 1;
    }
  } finally {
    await redisServer.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { hasTaskset, pinnedNode, startProcess, startRedisServer } from '../support/processes';
import {
  ensureWrk,
  median,
  ms,
  percent,
  wrk,
  wrkFailures as failures,
  type Measurement,
  type Target,
} from '../support/wrk';

/**
 * The edge benchmark (issue 12): the built edge (apps/edge) against yardsticks measured side by
 * side in the same run, alternating rounds (the method of bench/redirect, docs/benchmarks.md):
 *
 *   1. L1 hit, one hot link: the edge vs a raw node:http server answering the same 302 from a Map;
 *   2. L2 hit, 10,000 links, the edge's L1 off: vs a raw node:http server doing one ioredis GET of
 *      the same key per request;
 *   3. a miss forwarded to the api (the edge reads an empty key space) vs asking the api directly;
 *
 * and p99 at half the edge's peak rate, paced with Poisson arrivals by bench/redirect/load.lua.
 * The servers measured are pinned to core 0 and wrk to core 1 (taskset); in 3 the api is on core 0
 * and the edge in front of it wherever the scheduler puts it. Every answer's status is checked.
 *
 *   npm run bench:edge
 *   BENCH_SCENARIOS=1,3 BENCH_SECONDS=8 BENCH_ROUNDS=5 BENCH_CONNECTIONS=50 npm run bench:edge
 */

const API_MAIN = resolve(__dirname, '../../apps/api/src/main.js');
const EDGE_MAIN = resolve(__dirname, '../../apps/edge/src/main.js');
const RAW_MAIN = join(__dirname, 'raw.js');
const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = 6;
const PACED_SKIP_SECONDS = 2;
const PACED_WAIT_S = 0.012;
const LINKS = 10_000;
const HOT_URL = 'https://example.com/spring-sale?utm_source=bench';
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? '').split(',').filter(Boolean).map(Number);

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

interface Server {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts node `args` (on core 0 when `pinned`); resolves with the url its `ready` line names. */
async function startServer(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  pinned = true,
): Promise<Server> {
  const [command, argv] = pinnedNode(args, pinned);
  const started = await startProcess(command, argv, env, ready);
  return { url: started.match[1]!, stop: () => started.stop() };
}

/** The yardstick and `target` at full speed, alternating, BENCH_SECONDS / 2 each per round. */
async function interleaved(label: string, target: Target, yardstick: Target) {
  const seconds = Math.max(1, Math.round(SECONDS / 2));
  const base: Measurement[] = [];
  const top: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    base.push(await wrk(`${label} yardstick, round ${round}`, yardstick, seconds, CONNECTIONS));
    top.push(await wrk(`${label}, round ${round}`, target, seconds, CONNECTIONS));
  }
  const mean = (parts: Measurement[]): number =>
    parts.reduce((sum, m) => sum + m.rps, 0) / parts.length;
  return {
    baseRps: mean(base),
    topRps: mean(top),
    topP99: median(top.map((m) => m.p99)),
    baseP99: median(base.map((m) => m.p99)),
    ratios: top.map((m, i) => m.rps / base[i]!.rps),
  };
}

/** Paced at `rate` req/s (Poisson arrivals, load.lua), latency after the first seconds. */
async function paced(label: string, target: Target, rate: number) {
  const connections = Math.min(1000, Math.ceil(rate * PACED_WAIT_S));
  const run = await wrk(label, target, SECONDS + PACED_SKIP_SECONDS, connections, {
    rate,
    skipSeconds: PACED_SKIP_SECONDS,
  });
  const steady = run.steady ?? { rps: 0, p50: Number.NaN, p99: Number.NaN };
  return { rate, connections, ...steady, reached: steady.rps / rate };
}

async function check(url: string, path: string): Promise<void> {
  const res = await fetch(url + path, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`${url}${path}: expected 302, got ${res.status}`);
}

async function main(): Promise<void> {
  ensureWrk();
  if (hasTaskset) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  log(
    `load average at start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`,
  );
  const redisServer = await startRedisServer();
  const stamp = Date.now().toString(36);
  const dbName = `snip_bench_edge_${stamp}`;
  const prefix = `bench:${stamp}:`;
  const dataDir = mkdtempSync(join(tmpdir(), 'snip-bench-edge-'));
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(ADMIN_DB);
  dbUrl.pathname = `/${dbName}`;
  const common = {
    SNIP_PROFILE: 'test',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: prefix,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: redisServer.url,
    REDIRECT_ACCESS_LOG_SAMPLE_RATE: '0',
  };
  const servers: Server[] = [];
  const started = async (server: Promise<Server>): Promise<Server> => {
    const s = await server;
    servers.push(s);
    return s;
  };
  const startApi = (pinned = true): Promise<Server> =>
    started(
      startServer(
        [API_MAIN],
        {
          ...common,
          PORT: '0',
          DATA_DIR: dataDir,
          SHORT_CODE_SECRET: 'bench-secret-0123456789abcdef',
          SWAGGER_ENABLED: 'false',
          DATABASE_URL: dbUrl.toString(),
          DATABASE_MIGRATE_ON_BOOT: 'true',
          DATABASE_POOL_SIZE: '10',
        },
        /"url":"(http:\/\/[^"]+)".*snip api listening/,
        pinned,
      ),
    );
  const startEdge = (upstream: string, env: Record<string, string>, pinned = true) =>
    started(
      startServer(
        [EDGE_MAIN],
        { ...common, EDGE_PORT: '0', EDGE_UPSTREAM_URL: upstream, ...env },
        /"url":"(http:\/\/[^"]+)".*snip edge listening/,
        pinned,
      ),
    );
  const stopAll = async (): Promise<void> => {
    for (const server of servers.splice(0)) await server.stop();
  };
  const rows: string[] = [];
  const latencyRows: string[] = [];
  const wanted = (n: number): boolean => SCENARIOS.length === 0 || SCENARIOS.includes(n);
  try {
    // The api: schema, one hot link through the API (written through to L2), 10,000 more.
    const api = await startApi();
    const created = await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: HOT_URL, alias: 'hot-link' }),
    });
    if (created.status !== 201) throw new Error(`seed: ${created.status} ${await created.text()}`);
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    await db.query(
      `INSERT INTO links (id, code, url, is_custom, created_at, updated_at)
       SELECT nextval('link_id_seq'), 'bench-' || g, 'https://example.com/p/' || g, true, now(), now()
       FROM generate_series(1, $1) g`,
      [LINKS],
    );
    await db.query('VACUUM ANALYZE links');
    await db.end();
    // Every code read once through the api: its L2 entries are what the edge reads.
    for (let n = 1; n <= LINKS; n += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => check(api.url, `/bench-${n + k}`)));
    }
    await check(api.url, '/hot-link');
    await api.stop();
    servers.length = 0;

    const scenario = async (
      name: string,
      target: Target,
      yardstick: Target,
      yardstickName: string,
      goal: number,
      goalText: string,
      latencyToo = false,
    ): Promise<void> => {
      await wrk(`${name}, warm-up`, target, WARMUP_SECONDS, CONNECTIONS);
      await wrk(`${yardstickName}, warm-up`, yardstick, 2, CONNECTIONS);
      const r = await interleaved(name, target, yardstick);
      const ratio = median(r.ratios);
      const half = await paced(`${name}, half peak`, target, Math.round(r.topRps / 2));
      const line =
        `| ${name} | ${Math.round(r.topRps)} | ${ms(r.topP99)} | ${yardstickName} | ` +
        `${Math.round(r.baseRps)} | ${percent(ratio)} (${r.ratios.map(percent).join(', ')}) | ` +
        `${goalText}: ${ratio >= goal ? 'met' : 'MISSED'} | ` +
        `${ms(half.p50)} / ${ms(half.p99)} at ${half.rate} req/s (${percent(half.reached)} reached, ${half.connections} conn.) |`;
      rows.push(line);
      log(line);
      if (!latencyToo) return;
      // The same paced rate through the yardstick: what a client waits more, below saturation.
      const direct = await paced(`${yardstickName}, same rate`, yardstick, half.rate);
      const latency =
        `| ${name} | ${half.rate} | ${ms(half.p50)} / ${ms(half.p99)} | ${yardstickName} | ` +
        `${ms(direct.p50)} / ${ms(direct.p99)} | +${ms(half.p50 - direct.p50)} ms (${percent(half.p50 / direct.p50)}) | ` +
        `+${ms(half.p99 - direct.p99)} ms |`;
      latencyRows.push(latency);
      log(latency);
    };

    if (wanted(1)) {
      const edge = await startEdge('http://127.0.0.1:9', {});
      const raw = await started(
        startServer([RAW_MAIN, 'map', 'hot-link', HOT_URL], {}, /listening (http:\/\/\S+)/),
      );
      await check(edge.url, '/hot-link');
      await check(raw.url, '/hot-link');
      await scenario(
        'L1 hit, one hot link',
        { url: edge.url, paths: { fixed: '/hot-link' } },
        { url: raw.url, paths: { fixed: '/hot-link' } },
        'raw node:http, Map',
        0.75,
        '>= 75%',
      );
      await stopAll();
    }
    if (wanted(2)) {
      const edge = await startEdge('http://127.0.0.1:9', { CACHE_L1_MAX_ENTRIES: '0' });
      const raw = await started(
        startServer(
          [RAW_MAIN, 'redis', redisServer.url, `${prefix}cache:link:`],
          {},
          /listening (http:\/\/\S+)/,
        ),
      );
      await check(edge.url, '/bench-1');
      await check(raw.url, '/bench-1');
      await scenario(
        'L2 hit, 10,000 links, L1 off',
        { url: edge.url, paths: { cycle: 'bench-', count: LINKS } },
        { url: raw.url, paths: { cycle: 'bench-', count: LINKS } },
        'raw node:http, one ioredis GET',
        0.8,
        '>= 80%',
      );
      await stopAll();
    }
    if (wanted(3)) {
      const api = await startApi();
      // Its own key space (empty), L1 off: every redirect is a miss, forwarded to the api.
      const edge = await startEdge(
        api.url,
        { REDIS_KEY_PREFIX: `${prefix}empty:`, CACHE_L1_MAX_ENTRIES: '0' },
        false,
      );
      await check(edge.url, '/hot-link');
      await scenario(
        'miss forwarded to the api',
        { url: edge.url, paths: { fixed: '/hot-link' } },
        { url: api.url, paths: { fixed: '/hot-link' } },
        'the api directly',
        0.85,
        '>= 85%',
        true,
      );
      await stopAll();
    }

    log('');
    log(
      '| scenario | edge req/s | edge p99 ms | yardstick | yardstick req/s | ratio, median (per round) | target | edge p50 / p99 ms at half its peak, paced |',
    );
    log('|---|---:|---:|---|---:|---|---|---|');
    for (const row of rows) log(row);
    if (latencyRows.length > 0) {
      log('');
      log(
        '| scenario | paced req/s | edge p50 / p99 ms | yardstick | yardstick p50 / p99 ms | p50 added (edge / yardstick) | p99 added |',
      );
      log('|---|---:|---|---|---|---|---|');
      for (const row of latencyRows) log(row);
    }
    log('');
    log(
      `${CONNECTIONS} connections; ${ROUNDS} rounds of yardstick ${Math.round(SECONDS / 2)} s then edge ` +
        `${Math.round(SECONDS / 2)} s; half peak paced for ${SECONDS} s after ${PACED_SKIP_SECONDS} s not counted; ` +
        `servers on core ${hasTaskset ? '0' : 'any'}, wrk on core ${hasTaskset ? '1' : 'any'}; ` +
        `load average at the end: ${loadavg()
          .map((n) => n.toFixed(2))
          .join(', ')}`,
    );
    if (failures.length > 0) {
      log(`FAILED: ${failures.length} measurements saw errors or wrong answers`);
      process.exitCode = 1;
    }
  } finally {
    await stopAll();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await redisServer.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

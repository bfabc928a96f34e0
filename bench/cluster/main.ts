import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, startApi, startProcess, type Api } from '../support/processes';

/**
 * One api process against WEB_CONCURRENCY=2 on the same machine, in the same run: both apis are
 * up (the one not measured idles), and wrk alternates between them in rounds, so that a swing of
 * the machine lands on both; the ratio reported is two workers' req/s over one process's, per
 * round and the median. Nothing is pinned: the workers, wrk, Redis and PostgreSQL share the cores,
 * as they would on a small host. Each scenario's answers are checked by bench/redirect/load.lua; a
 * wrong one fails the run.
 *
 *   npm run bench:cluster
 *   BENCH_SECONDS=6 BENCH_ROUNDS=7 BENCH_CONNECTIONS=100 npm run bench:cluster
 */

const ROOT = process.cwd();
const LOAD_LUA = join(ROOT, 'bench/redirect/load.lua');
const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_API_WARMUP_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LINKS = 10_000;
const HOT_URL = 'https://example.com/spring-sale?utm_source=bench';

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** wrk, one thread, CONNECTIONS connections, closed loop; every answer must be `status`. */
function wrk(url: string, path: string, status: number, seconds: number): Measurement {
  const cycle = path.endsWith('-');
  const out = execFileSync(
    'wrk',
    [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '-s',
      LOAD_LUA,
      '--latency',
      cycle ? url : url + path,
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: (seconds + 30) * 1000,
      env: {
        ...process.env,
        SNIP_WRK_EXPECT: String(status),
        SNIP_WRK_PREFIX: cycle ? path.slice(1) : '',
        SNIP_WRK_COUNT: String(LINKS),
        SNIP_WRK_THREADS: '1',
      },
    },
  );
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  const report = JSON.parse(line ?? '{}') as {
    rps: number;
    p50_ms: number;
    p99_ms: number;
    requests: number;
    unexpected: number;
    errors: Record<string, number>;
  };
  const errors = Object.values(report.errors).reduce((a, b) => a + b, 0);
  if (report.unexpected > 0 || errors > 0 || report.requests === 0) {
    throw new Error(`wrong answers from ${url}${path}: ${line}`);
  }
  return { rps: report.rps, p50: report.p50_ms, p99: report.p99_ms };
}

/** Resident memory in MB of `pid` and its children (the workers of a primary). */
function residentMb(pid: number): { total: number; each: number[] } {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number.parseInt(s, 10))
      .filter(Number.isInteger);
  } catch {
    // ps exits 1 when there is none: one process.
  }
  const each = [pid, ...children].map((p) => {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  });
  return { total: each.reduce((a, b) => a + b, 0), each };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const pct = (value: number): string => `${Math.round(value * 100)}%`;

async function main(): Promise<void> {
  execFileSync('bash', ['scripts/tools.sh', 'wrk'], { cwd: ROOT, stdio: 'inherit' });
  const redisPort = await freePort();
  const redis = await startProcess(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    /Ready to accept connections/,
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const dbName = `snip_bench_cluster_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(ADMIN_DB);
  dbUrl.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'snip-bench-cluster-'));
  const common = {
    DATABASE_URL: dbUrl.toString(),
    DATABASE_MIGRATE_ON_BOOT: 'true',
    DATABASE_POOL_SIZE: '10',
    DATA_DIR: dataDir,
    REDIS_URL: redisUrl,
    CLICKS_TRANSPORT: 'redis-streams',
  };
  const apis: Api[] = [];
  try {
    const seed = await startApi(common);
    apis.push(seed);
    const created = await fetch(`${seed.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: HOT_URL, alias: 'hot-link' }),
    });
    if (created.status !== 201) throw new Error(`seed: ${created.status}`);
    await seed.stop();
    apis.length = 0;
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    await db.query(
      `INSERT INTO links (id, code, url, is_custom, created_at, updated_at)
       SELECT nextval('link_id_seq'), 'bench-' || g, 'https://example.com/p/' || g, true, now(), now()
       FROM generate_series(1, $1) g`,
      [LINKS],
    );
    await db.query('VACUUM ANALYZE links');
    await db.query('CHECKPOINT');
    await db.end();

    const scenarios: { name: string; env: Record<string, string>; path: string }[] = [
      { name: 'L1 hit, one hot link', env: {}, path: '/hot-link' },
      {
        name: 'L2 hit, 10,000 links (L1 off)',
        env: { CACHE_L1_MAX_ENTRIES: '0' },
        path: '/bench-',
      },
    ];
    const rows: string[] = [];
    for (const scenario of scenarios) {
      const one = await startApi({ ...common, ...scenario.env, WEB_CONCURRENCY: '1' });
      apis.push(one);
      const two = await startApi({ ...common, ...scenario.env, WEB_CONCURRENCY: '2' });
      apis.push(two);
      wrk(one.url, scenario.path, 302, WARMUP_SECONDS);
      wrk(two.url, scenario.path, 302, WARMUP_SECONDS);
      const ones: Measurement[] = [];
      const twos: Measurement[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Which goes first alternates too, so neither always follows the other's load.
        if (round % 2 === 0) {
          ones.push(wrk(one.url, scenario.path, 302, SECONDS));
          twos.push(wrk(two.url, scenario.path, 302, SECONDS));
        } else {
          twos.push(wrk(two.url, scenario.path, 302, SECONDS));
          ones.push(wrk(one.url, scenario.path, 302, SECONDS));
        }
      }
      const ratios = twos.map((m, i) => m.rps / ones[i]!.rps);
      const memory = { one: residentMb(one.pid), two: residentMb(two.pid) };
      const line =
        `| ${scenario.name} | ${Math.round(mean(ones.map((m) => m.rps)))} | ` +
        `${median(ones.map((m) => m.p50)).toFixed(2)} / ${median(ones.map((m) => m.p99)).toFixed(2)} | ` +
        `${Math.round(mean(twos.map((m) => m.rps)))} | ` +
        `${median(twos.map((m) => m.p50)).toFixed(2)} / ${median(twos.map((m) => m.p99)).toFixed(2)} | ` +
        `${pct(median(ratios))} | ${ratios.map(pct).join(', ')} | ` +
        `${Math.round(memory.one.total)} | ${Math.round(memory.two.total)} (${memory.two.each.map(Math.round).join(' + ')}) |`;
      log(line);
      rows.push(line);
      for (const api of [one, two]) await api.stop();
      apis.length = 0;
    }
    log('');
    log(
      '| scenario | 1 process req/s | p50 / p99 ms | 2 workers req/s | p50 / p99 ms | ratio (median) | per round | RSS MB, 1 | RSS MB, 2 (primary + workers) |',
    );
    log('|---|---:|---:|---:|---:|---:|---|---:|---:|');
    for (const row of rows) log(row);
    log('');
    log(
      `wrk -t1 -c${CONNECTIONS}, ${ROUNDS} rounds of ${SECONDS} s each way after ${WARMUP_SECONDS} s of warm-up; nothing pinned`,
    );
  } finally {
    for (const api of apis) await api.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

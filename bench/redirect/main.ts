import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { Client } from 'pg';

/**
 * The redirect benchmark: starts a bare Fastify yardstick and the built api (real PostgreSQL and
 * Redis on 127.0.0.1), pinned to core 0 with the load generator on core 1 when taskset exists,
 * and prints req/s, p50 and p99 per scenario, the ratios to the yardstick, and p99 at half the
 * peak rate. Bounded in time: BENCH_SECONDS (default 8) per measurement.
 *
 *   npm run bench:redirect
 */

/** The repository (its config/ folder); npm runs scripts from there. */
const ROOT = process.cwd();
/**
 * The api as built for this run, beside this script (npm run bench:redirect builds its own copy
 * under node_modules/.cache, so that another `npm run build` cannot pull it away mid-run).
 */
const API_MAIN = resolve(__dirname, '../../apps/api/src/main.js');
const BARE_MAIN = join(__dirname, 'bare.js');
const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LINKS = 10_000;
const HOT_URL = 'https://example.com/spring-sale?utm_source=bench';

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

interface Server {
  readonly url: string;
  stop(): Promise<void>;
}

/** Spawns `args` under node on core 0 and resolves once a line matches `ready`. */
function startServer(args: string[], env: Record<string, string>, ready: RegExp): Promise<Server> {
  const command = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', '0', process.execPath, ...args] : args;
  const child: ChildProcess = spawn(command, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const output: string[] = [];
  return new Promise<Server>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output.push(text);
      const match = ready.exec(output.join(''));
      if (match?.[1]) {
        clearTimeout(timer);
        done({
          url: match[1],
          async stop() {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => fail(new Error(`exited before listening:\n${output.join('')}`)));
  });
}

function startApi(env: Record<string, string>, dataDir: string): Promise<Server> {
  return startServer(
    [API_MAIN],
    {
      SNIP_PROFILE: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      SHORT_CODE_SECRET: 'bench-secret-0123456789abcdef',
      LOG_LEVEL: 'info',
      SWAGGER_ENABLED: 'false',
      REDIRECT_ACCESS_LOG_SAMPLE_RATE: '0',
      ...env,
    },
    /"url":"(http:\/\/[^"]+)".*snip api listening/,
  );
}

interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** Loads `base` with paths from `next` for `seconds`, optionally at a fixed overall rate. */
async function load(
  base: string,
  next: () => string,
  seconds: number,
  overallRate?: number,
): Promise<Measurement> {
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: seconds,
    ...(overallRate ? { overallRate } : {}),
    requests: [{ setupRequest: (request) => ({ ...request, path: next() }) }],
  });
  const unexpected = result.errors + result.timeouts + (result['5xx'] ?? 0);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: unexpected,
  };
}

interface Scenario {
  readonly name: string;
  readonly server: () => Promise<Server>;
  readonly path: () => () => string;
  readonly expectStatus: number;
  /** Run once before measuring (such as a pass over every code). */
  readonly prime?: (url: string) => Promise<void>;
}

async function check(url: string, path: string, status: number): Promise<void> {
  const res = await fetch(url + path, { redirect: 'manual' });
  if (res.status !== status) throw new Error(`${path}: expected ${status}, got ${res.status}`);
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

async function main(): Promise<void> {
  if (hasTaskset) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  const stamp = `${Date.now().toString(36)}`;
  const dbName = `snip_bench_${stamp}`;
  const prefix = `bench:${stamp}:`;
  const dataDir = mkdtempSync(join(tmpdir(), 'snip-bench-'));
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(ADMIN_DB);
  dbUrl.pathname = `/${dbName}`;
  const common = {
    DATABASE_URL: dbUrl.toString(),
    DATABASE_MIGRATE_ON_BOOT: 'true',
    DATABASE_POOL_SIZE: '10',
    REDIS_KEY_PREFIX: prefix,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_REDIS_URL: REDIS_URL,
  };
  const servers: Server[] = [];
  const started = async (server: Promise<Server>): Promise<Server> => {
    const s = await server;
    servers.push(s);
    return s;
  };
  try {
    // Schema and data: one hot link through the API (written through the cache), 10,000 more.
    const seed = await started(startApi({ ...common, REDIS_URL }, dataDir));
    const created = await fetch(`${seed.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: HOT_URL, alias: 'hot-link' }),
    });
    if (created.status !== 201) throw new Error(`seed: ${created.status} ${await created.text()}`);
    await seed.stop();
    servers.length = 0;
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    await db.query(
      `INSERT INTO links (id, code, url, is_custom, created_at, updated_at)
       SELECT nextval('link_id_seq'), 'bench-' || g, 'https://example.com/p/' || g, true, now(), now()
       FROM generate_series(1, $1) g`,
      [LINKS],
    );
    await db.end();

    let i = 0;
    const cycle = (prefix: string) => () => () => `/${prefix}${(i++ % LINKS) + 1}`;
    const scenarios: Scenario[] = [
      {
        name: 'L1 hit, one hot link',
        server: () => startApi({ ...common, REDIS_URL }, dataDir),
        path: () => () => '/hot-link',
        expectStatus: 302,
      },
      {
        name: 'L2 hit, 10,000 links (L1 off)',
        server: () => startApi({ ...common, REDIS_URL, CACHE_L1_MAX_ENTRIES: '0' }, dataDir),
        path: cycle('bench-'),
        expectStatus: 302,
        prime: async (url) => {
          for (let n = 1; n <= LINKS; n += 100) {
            await Promise.all(
              Array.from({ length: 100 }, (_, k) => check(url, `/bench-${n + k}`, 302)),
            );
          }
        },
      },
      {
        name: 'miss to the database, 10,000 links (no cache)',
        server: () => startApi({ ...common, CACHE_L1_MAX_ENTRIES: '0' }, dataDir),
        path: cycle('bench-'),
        expectStatus: 302,
      },
      {
        name: 'unknown codes, 10,000 (negative cache)',
        // Negative entries outlive the run, so every code costs one database read, at priming.
        server: () => startApi({ ...common, REDIS_URL, CACHE_NEGATIVE_TTL_MS: '600000' }, dataDir),
        path: cycle('nope-'),
        expectStatus: 404,
        prime: async (url) => {
          for (let n = 1; n <= LINKS; n += 100) {
            await Promise.all(
              Array.from({ length: 100 }, (_, k) => check(url, `/nope-${n + k}`, 404)),
            );
          }
        },
      },
    ];

    // The yardstick stays up (idle between its runs) and is measured right before each scenario,
    // so that each ratio compares two measurements taken moments apart on the same core.
    const bare = await started(
      startServer([BARE_MAIN, '0', 'hot-link', HOT_URL], {}, /listening (http:\/\/\S+)/),
    );
    const barePath = () => '/hot-link';
    await check(bare.url, barePath(), 302);
    await load(bare.url, barePath, WARMUP_SECONDS);

    const results: {
      name: string;
      bare: Measurement;
      peak: Measurement;
      half: Measurement;
      dbReads: number;
    }[] = [];
    for (const scenario of scenarios) {
      const server = await started(scenario.server());
      const next = scenario.path();
      await check(server.url, next(), scenario.expectStatus);
      await scenario.prime?.(server.url);
      await load(server.url, next, WARMUP_SECONDS);
      const yardstick = await load(bare.url, barePath, SECONDS);
      const peak = await load(server.url, next, SECONDS);
      const half = await load(server.url, next, SECONDS, Math.max(1, Math.round(peak.rps / 2)));
      const dbReads = await metric(
        server.url,
        /snip_cache_lookups_total\{tier="primary",result="miss"\} (\d+)/,
      );
      results.push({ name: scenario.name, bare: yardstick, peak, half, dbReads });
      log(
        `${scenario.name}: ${Math.round(peak.rps)} req/s, p50 ${peak.p50} ms, p99 ${peak.p99} ms` +
          ` (bare Fastify just before: ${Math.round(yardstick.rps)} req/s)` +
          ` | at ${Math.round(peak.rps / 2)} req/s: p99 ${half.p99} ms` +
          (peak.errors + half.errors ? ` | ${peak.errors + half.errors} errors` : ''),
      );
      await server.stop();
      servers.splice(servers.indexOf(server), 1);
    }

    log('');
    log(
      '| scenario | req/s | p50 ms | p99 ms | bare Fastify req/s, same moment | ratio | p99 ms at half peak | DB reads for unknown codes |',
    );
    log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      log(
        `| ${r.name} | ${Math.round(r.peak.rps)} | ${r.peak.p50} | ${r.peak.p99} | ` +
          `${Math.round(r.bare.rps)} | ${((r.peak.rps / r.bare.rps) * 100).toFixed(0)}% | ` +
          `${r.half.p99} | ${r.name.startsWith('unknown') ? r.dbReads : ''} |`,
      );
    }
    log('');
    log(
      `cores: server ${hasTaskset ? '0' : 'any'}, load ${hasTaskset ? '1' : 'any'}; ` +
        `${CONNECTIONS} connections, ${SECONDS} s per measurement`,
    );
  } finally {
    for (const server of servers) await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    for (let n = 0; n < keys.length; n += 1000) await redis.del(...keys.slice(n, n + 1000));
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

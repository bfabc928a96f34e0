import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { hasTaskset, startRedisServer } from '../support/processes';
import {
  LOAD_LUA,
  median,
  ms,
  percent,
  wrk as runWrk,
  wrkArgv,
  wrkFailures,
  type Measurement,
  type Target as WrkTarget,
} from '../support/wrk';

/**
 * The redirect benchmark: starts a bare Fastify yardstick and the built api (real PostgreSQL and
 * Redis on 127.0.0.1), pinned to core 0 with the load generator, wrk, on core 1 when taskset
 * exists, and prints req/s, p50 and p99 per scenario, the ratios to the yardstick, and p99 at half
 * the peak rate, with the load paced (Poisson arrivals, see load.lua) rather than in bursts.
 * Every response's status is checked: a socket error, a timeout or an unexpected status is
 * printed, and makes the run exit with 1. Bounded in time: BENCH_SECONDS (default 8) per
 * measurement.
 *
 *   npm run bench:redirect
 *   BENCH_SCENARIOS=2,unknown npm run bench:redirect      (scenarios by number or name prefix)
 *   BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench:redirect
 *   BENCH_API_NODE_ARGS=--trace-gc BENCH_API_OUTPUT=/tmp/api.log npm run bench:redirect
 *   BENCH_API_ENV='CLICKS_PUBLISH_BATCH_SIZE=100 CLICKS_PUBLISH_INTERVAL_MS=10' npm run bench:redirect
 *
 * BENCH_CONNECTIONS (default 50) sets the closed-loop connections; BENCH_API_NODE_ARGS goes to
 * node for each measured api process (not for the one that only seeds the database), and
 * BENCH_API_ENV and BENCH_API_OUTPUT apply to the measured ones too.
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
/** An existing Redis to use; without it the bench starts its own (see ownRedis). */
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/**
 * Peak rounds per scenario: the yardstick and the scenario alternate, BENCH_SECONDS / 2 each, so
 * that a swing of the machine (this VM's bare rate moves by 20% within a minute) lands on both;
 * the ratio reported is the median of the rounds' ratios, which one disturbed round cannot move.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = 2;
/**
 * A freshly started api is slower for its first seconds (JIT tiers, and the collection of its
 * start-up garbage): measured in rounds, the first 4 s ran at 44% of the yardstick and the next
 * ones at 65% and 71%. A production api runs for hours, so the api warms up longer.
 */
const API_WARMUP_SECONDS = Number(process.env.BENCH_API_WARMUP_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LINKS = 10_000;
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? '')
  .split(',')
  .map((name) => name.trim().toLowerCase())
  .filter(Boolean);
const API_NODE_ARGS = (process.env.BENCH_API_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
/** Settings for each measured api, on top of the scenario's: `NAME=value NAME=value`. */
const API_ENV = Object.fromEntries(
  (process.env.BENCH_API_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** A file each measured api's output is appended to (its logs, and --trace-gc lines), if set. */
const API_OUTPUT = process.env.BENCH_API_OUTPUT;
/** The script that installs wrk when it is missing. */
const BENCH_TOOLS = join(ROOT, 'scripts/tools.sh');
/**
 * Paced runs keep a connection's mean wait between requests at 12 ms or more (wrk's delays are
 * whole milliseconds), so they use ceil(rate x 0.012) connections, at most this many.
 */
const PACED_WAIT_S = 0.012;
/**
 * A paced run lasts this much longer than BENCH_SECONDS, and the latency of requests sent in its
 * first seconds is not counted (load.lua stamps each request). Hundreds of connections open at
 * once at its start, and right after the closed loop's connections have closed: measured, the
 * first ~200 ms ran partly deoptimised (V8 had met new shapes on the close path) and recompiling,
 * and held most of an 8 s run's p99 (L1: 7-17 ms over 8 s, 3.5 ms over 16 s). A server behind a
 * load balancer keeps its connections; wrk's whole-run p99 is still printed beside.
 */
const PACED_SKIP_SECONDS = 2;
const PACED_MAX_CONNECTIONS = 1000;
const HOT_URL = 'https://example.com/spring-sale?utm_source=bench';

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

interface Server {
  readonly url: string;
  /** The server's process (node itself: taskset execs it), for its scheduler statistics. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Spawns `args` under node on core 0 and resolves once a line matches `ready`; the output after
 * that goes to `outputFile` when given (appended), else nowhere.
 */
function startServer(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  outputFile?: string,
): Promise<Server> {
  const command = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', '0', process.execPath, ...args] : args;
  const child: ChildProcess = spawn(command, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const sink = outputFile ? createWriteStream(outputFile, { flags: 'a' }) : undefined;
  let output = '';
  let listening = false;
  return new Promise<Server>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      sink?.write(chunk);
      if (listening) return;
      output += chunk.toString();
      const match = ready.exec(output);
      if (match?.[1]) {
        listening = true;
        clearTimeout(timer);
        done({
          url: match[1],
          pid: child.pid,
          async stop() {
            child.kill('SIGTERM');
            await exited;
            sink?.end();
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => fail(new Error(`exited before listening:\n${output}`)));
  });
}

/** The api; a measured one (started with `nodeArgs`) sends its output to BENCH_API_OUTPUT. */
function startApi(
  env: Record<string, string>,
  dataDir: string,
  nodeArgs?: string[],
): Promise<Server> {
  return startServer(
    [...(nodeArgs ?? []), API_MAIN],
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
      ...(nodeArgs ? API_ENV : {}),
    },
    /"url":"(http:\/\/[^"]+)".*snip api listening/,
    nodeArgs ? API_OUTPUT : undefined,
  );
}

/** What a run asks for: one path, or /<prefix>1 .. /<prefix><LINKS> in turn, and the answer. */
interface Target {
  readonly url: string;
  readonly paths: { readonly fixed: string } | { readonly cycle: string };
  readonly expectStatus: number;
}

interface Paced extends Measurement {
  /** The rate asked for, req/s. */
  readonly rate: number;
  readonly connections: number;
  /** Achieved rate / the rate asked for. */
  readonly reached: number;
  readonly onTarget: boolean;
  /** p99 over the whole run, the first PACED_SKIP_SECONDS included (wrk's own figure). */
  readonly wholeRunP99: number;
  /** The server's longest event-loop delay in the run, ms (the api only). */
  readonly loopMaxMs: number | undefined;
  /** Ms per second the server's main thread was runnable but waited for its core. */
  readonly waitMsPerS: number | undefined;
}

/**
 * wrk against `target` for `seconds`: a closed loop without `rate`, else paced at `rate` req/s in
 * total, the first `skipSeconds` not counted. Failures are printed at once and kept in wrkFailures.
 */
function wrk(
  label: string,
  target: Target,
  seconds: number,
  connections: number,
  rate = 0,
  skipSeconds = 0,
): Promise<Measurement> {
  return runWrk(label, wrkTarget(target), seconds, connections, {
    rate,
    skipSeconds,
    expect: target.expectStatus,
  });
}

/** `target` as bench/support/wrk runs it: a cycle goes over the LINKS seeded codes. */
const wrkTarget = (target: Target): WrkTarget => ({
  url: target.url,
  paths: 'cycle' in target.paths ? { cycle: target.paths.cycle, count: LINKS } : target.paths,
});

/** The closed loop: CONNECTIONS connections, each sending its next request on each answer. */
function peak(label: string, target: Target, seconds = SECONDS): Promise<Measurement> {
  return wrk(label, target, seconds, CONNECTIONS);
}

/** Several measurements as one: mean rate, median p50 and p99, the worst max, every failure. */
function combine(parts: Measurement[]): Measurement {
  return {
    rps: parts.reduce((sum, m) => sum + m.rps, 0) / parts.length,
    p50: median(parts.map((m) => m.p50)),
    p99: median(parts.map((m) => m.p99)),
    max: Math.max(...parts.map((m) => m.max)),
    requests: parts.reduce((sum, m) => sum + m.requests, 0),
    timeouts: parts.reduce((sum, m) => sum + m.timeouts, 0),
    failures: parts.flatMap((m) => m.failures),
  };
}

/** The yardstick and `target` at full speed, alternating for ROUNDS rounds. */
async function interleaved(
  label: string,
  target: Target,
  yardstick: Target,
): Promise<{ bare: Measurement; top: Measurement; ratios: number[] }> {
  const bare: Measurement[] = [];
  const top: Measurement[] = [];
  const seconds = Math.max(1, Math.round(SECONDS / 2));
  for (let round = 1; round <= ROUNDS; round++) {
    bare.push(await peak(`bare Fastify before ${label}, round ${round}`, yardstick, seconds));
    top.push(await peak(`${label}, round ${round}`, target, seconds));
  }
  return {
    bare: combine(bare),
    top: combine(top),
    ratios: top.map((m, i) => m.rps / bare[i]!.rps),
  };
}

/**
 * Nanoseconds the process's main thread has waited, runnable, for a core, from
 * /proc/<pid>/schedstat (its second field); undefined where there is no such file.
 */
function runQueueWaitNs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const wait = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(wait) ? wait : undefined;
  } catch {
    return undefined;
  }
}

/** The number `pattern` captures in the server's /metrics; undefined without it (bare Fastify). */
async function metric(url: string, pattern: RegExp): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) return undefined;
  const value = pattern.exec(await res.text())?.[1];
  return value === undefined ? undefined : Number(value);
}

const LOOP_LAG_MAX = /^nodejs_eventloop_lag_max_seconds (\S+)$/m;

/**
 * Paced at half `peakRps`, with Poisson arrivals over enough connections (see load.lua). Beside
 * what wrk saw, what the server saw: the most its event loop was late (prom-client's
 * nodejs_eventloop_lag_max_seconds, whose window a read of /metrics starts) and how long its main
 * thread waited for the core it is pinned to, per second.
 */
async function halfPeak(
  label: string,
  target: Target,
  peakRps: number,
  pid?: number,
): Promise<Paced> {
  const rate = Math.max(1, Math.round(peakRps / 2));
  const connections = Math.min(PACED_MAX_CONNECTIONS, Math.ceil(rate * PACED_WAIT_S));
  await metric(target.url, LOOP_LAG_MAX);
  const before = runQueueWaitNs(pid);
  const whole = await wrk(
    label,
    target,
    SECONDS + PACED_SKIP_SECONDS,
    connections,
    rate,
    PACED_SKIP_SECONDS,
  );
  const after = runQueueWaitNs(pid);
  const loopMax = await metric(target.url, LOOP_LAG_MAX);
  const steady = whole.steady ?? { rps: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const reached = steady.rps / rate;
  return {
    ...whole,
    ...steady,
    wholeRunP99: whole.p99,
    rate,
    connections,
    reached,
    onTarget: Math.abs(reached - 1) <= 0.1,
    loopMaxMs: loopMax === undefined ? undefined : loopMax * 1000,
    waitMsPerS:
      before !== undefined && after !== undefined
        ? (after - before) / 1e6 / (SECONDS + PACED_SKIP_SECONDS)
        : undefined,
  };
}

/** How a paced run went, in words, saying so when it missed its rate by more than 10%. */
function describePaced(half: Paced): string {
  return (
    `paced at ${half.rate} req/s on ${half.connections} connections: ` +
    `reached ${Math.round(half.rps)} req/s (${percent(half.reached)})` +
    (half.onTarget ? '' : ' OFF TARGET by more than 10%, so not a half-peak figure') +
    `, p50 ${ms(half.p50)} ms, p99 ${ms(half.p99)} ms, max ${ms(half.max)} ms` +
    ` (after its first ${PACED_SKIP_SECONDS} s; over the whole run p99 ${ms(half.wholeRunP99)} ms)` +
    (half.loopMaxMs === undefined ? '' : `; event loop late by at most ${ms(half.loopMaxMs)} ms`) +
    (half.waitMsPerS === undefined ? '' : `; waited for its core ${ms(half.waitMsPerS)} ms/s`)
  );
}

interface Scenario {
  readonly name: string;
  readonly server: () => Promise<Server>;
  readonly paths: Target['paths'];
  readonly expectStatus: number;
  /** Run once before measuring (such as a pass over every code). */
  readonly prime?: (url: string) => Promise<void>;
}

async function check(url: string, path: string, status: number): Promise<void> {
  const res = await fetch(url + path, { redirect: 'manual' });
  if (res.status !== status) throw new Error(`${path}: expected ${status}, got ${res.status}`);
}

/** The scenarios BENCH_SCENARIOS names (by 1-based number or name prefix), or all of them. */
function chooseScenarios(scenarios: Scenario[]): Scenario[] {
  if (SCENARIOS.length === 0) return scenarios;
  const chosen = scenarios.filter((scenario, index) =>
    SCENARIOS.some((wanted) =>
      /^\d+$/.test(wanted)
        ? Number(wanted) === index + 1
        : scenario.name.toLowerCase().startsWith(wanted),
    ),
  );
  if (chosen.length === 0) {
    const names = scenarios.map((scenario, index) => `${index + 1}. ${scenario.name}`);
    throw new Error(`BENCH_SCENARIOS matches no scenario of:\n${names.join('\n')}`);
  }
  return chosen;
}

/**
 * A redis-server of the bench's own on a free port, so that the shared one is left alone and every
 * run starts from an empty Redis. It is not pinned: pinned to core 1 it slowed the load generator
 * (L2 hits fell from 23k to 19k req/s), and on core 0 it would slow the api; like PostgreSQL, it
 * goes where the scheduler puts it, as it would on any machine without a core of its own. Without
 * redis-server on the PATH, the shared one at 127.0.0.1:6379.
 */
async function ownRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (BENCH_REDIS_URL) return { url: BENCH_REDIS_URL, stop: () => Promise.resolve() };
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return { url: 'redis://127.0.0.1:6379', stop: () => Promise.resolve() };
  }
  return startRedisServer();
}

/** Asks once for every one of the LINKS codes `<prefix><n>`, 100 at a time, expecting `status`. */
async function primeAll(url: string, prefix: string, status: number): Promise<void> {
  for (let n = 1; n <= LINKS; n += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, k) => check(url, `/${prefix}${n + k}`, status)),
    );
  }
}

async function main(): Promise<void> {
  execFileSync('bash', [BENCH_TOOLS, 'wrk'], { stdio: 'inherit' });
  if (hasTaskset) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  const redisServer = await ownRedis();
  const REDIS_URL = redisServer.url;
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
    // PostgreSQL's own follow-up work (autovacuum's analyze of the new rows, the checkpoint of a
    // fresh database) is done now, not during the first measurement.
    await db.query('VACUUM ANALYZE links');
    await db.query('CHECKPOINT');
    await db.end();

    const scenarios: Scenario[] = [
      {
        name: 'L1 hit, one hot link',
        server: () => startApi({ ...common, REDIS_URL }, dataDir, API_NODE_ARGS),
        paths: { fixed: '/hot-link' },
        expectStatus: 302,
      },
      {
        name: 'L2 hit, 10,000 links (L1 off)',
        server: () =>
          startApi({ ...common, REDIS_URL, CACHE_L1_MAX_ENTRIES: '0' }, dataDir, API_NODE_ARGS),
        paths: { cycle: 'bench-' },
        expectStatus: 302,
        prime: (url) => primeAll(url, 'bench-', 302),
      },
      {
        name: 'miss to the database, 10,000 links (no cache)',
        server: () => startApi({ ...common, CACHE_L1_MAX_ENTRIES: '0' }, dataDir, API_NODE_ARGS),
        paths: { cycle: 'bench-' },
        expectStatus: 302,
      },
      {
        name: 'unknown codes, 10,000 (negative cache)',
        // Negative entries outlive the run, so every code costs one database read, at priming.
        server: () =>
          startApi(
            { ...common, REDIS_URL, CACHE_NEGATIVE_TTL_MS: '600000' },
            dataDir,
            API_NODE_ARGS,
          ),
        paths: { cycle: 'nope-' },
        expectStatus: 404,
        prime: (url) => primeAll(url, 'nope-', 404),
      },
    ];
    const chosen = chooseScenarios(scenarios);
    const firstPath = (paths: Target['paths']): string =>
      'fixed' in paths ? paths.fixed : `/${paths.cycle}1`;

    // The yardstick stays up (idle between its runs) and is measured right before each scenario,
    // so that each ratio compares two measurements taken moments apart on the same core.
    const bare = await started(
      startServer([BARE_MAIN, '0', 'hot-link', HOT_URL], {}, /listening (http:\/\/\S+)/),
    );
    const bareTarget: Target = { url: bare.url, paths: { fixed: '/hot-link' }, expectStatus: 302 };
    await check(bare.url, '/hot-link', 302);
    await peak('bare Fastify, warm-up', bareTarget, WARMUP_SECONDS);
    // Once: what the machine itself adds to the tail at half the yardstick's own peak.
    const bareAlone = await peak('bare Fastify', bareTarget);
    const bareHalf = await halfPeak('bare Fastify, half peak', bareTarget, bareAlone.rps, bare.pid);
    log(
      `bare Fastify: ${Math.round(bareAlone.rps)} req/s, p50 ${ms(bareAlone.p50)} ms, ` +
        `p99 ${ms(bareAlone.p99)} ms | ${describePaced(bareHalf)}` +
        (bareAlone.failures.length + bareHalf.failures.length > 0
          ? ' | FAILED: wrong answers, see the lines marked !'
          : ''),
    );

    const results: {
      name: string;
      bare: Measurement;
      peak: Measurement;
      ratios: number[];
      half: Paced;
      dbReads: number;
    }[] = [];
    for (const scenario of chosen) {
      const server = await started(scenario.server());
      const target: Target = {
        url: server.url,
        paths: scenario.paths,
        expectStatus: scenario.expectStatus,
      };
      await check(server.url, firstPath(scenario.paths), scenario.expectStatus);
      await scenario.prime?.(server.url);
      await peak(`${scenario.name}, warm-up`, target, API_WARMUP_SECONDS);
      const { bare: yardstick, top, ratios } = await interleaved(scenario.name, target, bareTarget);
      const half = await halfPeak(`${scenario.name}, half peak`, target, top.rps, server.pid);
      const dbReads =
        (await metric(
          server.url,
          /snip_cache_lookups_total\{tier="primary",result="miss"\} (\d+)/,
        )) ?? 0;
      results.push({ name: scenario.name, bare: yardstick, peak: top, ratios, half, dbReads });
      const wrong = yardstick.failures.length + top.failures.length + half.failures.length;
      log(
        `${scenario.name}: ${Math.round(top.rps)} req/s, p50 ${ms(top.p50)} ms, ` +
          `p99 ${ms(top.p99)} ms (bare Fastify, alternating: ${Math.round(yardstick.rps)} req/s;` +
          ` ratio per round ${ratios.map(percent).join(', ')})` +
          ` | ${describePaced(half)}` +
          (wrong ? ` | FAILED: wrong answers, see the lines marked !` : ''),
      );
      await server.stop();
      servers.splice(servers.indexOf(server), 1);
    }

    log('');
    log(
      '| scenario | req/s | p50 ms | p99 ms | bare Fastify req/s, alternating | ratio (median) | per round |' +
        ' p99 ms at half peak | same, whole run | half-peak rate reached | DB reads for unknown codes |',
    );
    log('|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|');
    for (const r of results) {
      const invalid = [r.bare, r.peak, r.half].some((m) => m.failures.length > 0);
      log(
        `| ${r.name}${invalid ? ' (FAILED, wrong answers)' : ''} | ${Math.round(r.peak.rps)} | ` +
          `${ms(r.peak.p50)} | ${ms(r.peak.p99)} | ${Math.round(r.bare.rps)} | ` +
          `${percent(median(r.ratios))} | ${r.ratios.map(percent).join(', ')} | ` +
          `${ms(r.half.p99)} | ${ms(r.half.wholeRunP99)} | ` +
          `${percent(r.half.reached)} of ${r.half.rate}${r.half.onTarget ? '' : ' (off target)'} | ` +
          `${r.name.startsWith('unknown') ? r.dbReads : ''} |`,
      );
    }
    log('');
    log(
      `bare Fastify alone: ${Math.round(bareAlone.rps)} req/s, p99 ${ms(bareAlone.p99)} ms; ` +
        `at half its peak (paced): p99 ${ms(bareHalf.p99)} ms` +
        (bareHalf.onTarget ? '' : ` (reached only ${percent(bareHalf.reached)} of the rate)`),
    );
    log(
      `cores: server ${hasTaskset ? '0' : 'any'}, load ${hasTaskset ? '1' : 'any'}; ` +
        `Redis ${REDIS_URL}${BENCH_REDIS_URL ? '' : ' (own, any core)'}; ` +
        `${CONNECTIONS} connections; peak: ${ROUNDS} rounds of bare ${Math.max(1, Math.round(SECONDS / 2))} s` +
        ` then scenario ${Math.max(1, Math.round(SECONDS / 2))} s; half peak: ${SECONDS} s measured` +
        ` after ${PACED_SKIP_SECONDS} s not counted`,
    );
    const shown = (argv: string[]): string =>
      argv.map((arg) => (arg === LOAD_LUA ? relative(ROOT, arg) : arg)).join(' ');
    log(
      `load: ${shown(wrkArgv(wrkTarget({ ...bareTarget, url: '<server>' }), SECONDS, CONNECTIONS))}; ` +
        `half peak: the same with -c<ceil(R x ${PACED_WAIT_S})> (at most ` +
        `${PACED_MAX_CONNECTIONS}), -d${SECONDS + PACED_SKIP_SECONDS}s, SNIP_WRK_RATE=R, R = round(peak / 2)` +
        ` and SNIP_WRK_SKIP_MS=${PACED_SKIP_SECONDS * 1000}`,
    );
    if (wrkFailures.length > 0) {
      log('');
      log(`FAILED: ${wrkFailures.length} measurements saw wrong answers:`);
      for (const failure of wrkFailures) log(`  ${failure}`);
      process.exitCode = 1;
    }
  } finally {
    for (const server of servers) await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    for (let n = 0; n < keys.length; n += 1000) await redis.del(...keys.slice(n, n + 1000));
    redis.disconnect();
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

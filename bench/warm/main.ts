import { Redis } from 'ioredis';
import { Client } from 'pg';
import { startApi, type Api } from '../support/processes';

/**
 * The cache warm-up of 100,000 links on the api, and what redirects see meanwhile: one api, one
 * database of 100,000 links; redirects of a hot code (4 in flight, closed loop) are timed for a
 * few seconds alone, then while POST /api/v1/cache/warm `{ all: true, limit: 100000 }` runs.
 *
 *   npm run bench:warm
 *   BENCH_WARM_LINKS=20000 npm run bench:warm
 */

const ADMIN_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const LINKS = Number(process.env.BENCH_WARM_LINKS ?? 100_000);
const IN_FLIGHT = 4;
const BASELINE_MS = 3000;

const log = (line: string): boolean => process.stdout.write(`${line}\n`);

/** Redirects of `code`, IN_FLIGHT at a time, until `until` settles (or `ms` pass); latencies in ms. */
async function redirects(url: string, code: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  const loop = async (): Promise<void> => {
    while (!done && latencies.length < 1_000_000) {
      const started = performance.now();
      const res = await fetch(`${url}/${code}`, { redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status !== 302) throw new Error(`redirect answered ${res.status}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  return latencies.sort((a, b) => a - b);
}

const at = (sorted: number[], q: number): string =>
  (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(2);
const summary = (sorted: number[]): string =>
  `${sorted.length} redirects, p50 ${at(sorted, 0.5)} ms, p99 ${at(sorted, 0.99)} ms, max ${at(sorted, 1)} ms`;

async function main(): Promise<void> {
  const name = `snip_bench_warm_${process.pid}`;
  const admin = new Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const dbUrl = ADMIN_DB.replace(/\/[^/]*$/, `/${name}`);
  const prefix = `snip-bench-warm-${process.pid}:`;
  const redis = new Redis(REDIS_URL);
  let api: Api | undefined;
  try {
    api = await startApi({ DATABASE_URL: dbUrl, REDIS_URL, REDIS_KEY_PREFIX: prefix });
    const db = new Client({ connectionString: dbUrl });
    await db.connect();
    await db.query(
      `INSERT INTO links (id, code, url) SELECT 10000000 + i, 'w' || i, 'https://example.com/' || i
         FROM generate_series(1, $1) AS i`,
      [LINKS],
    );
    await db.end();
    const hot = 'w1';
    // A first round warms the api (JIT, connections) and is not reported.
    await redirects(api.url, hot, new Promise((done) => setTimeout(done, BASELINE_MS)));
    const baseline = await redirects(
      api.url,
      hot,
      new Promise((done) => setTimeout(done, BASELINE_MS)),
    );
    log(`alone:        ${summary(baseline)}`);
    const started = performance.now();
    const warm = fetch(`${api.url}/api/v1/cache/warm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ all: true, limit: LINKS }),
    }).then((res) => res.json() as Promise<Record<string, number>>);
    const during = await redirects(api.url, hot, warm);
    const result = await warm;
    log(`during warm:  ${summary(during)}`);
    log(
      `warm-up of ${LINKS} links: ${result.written} written in ${result.durationMs} ms ` +
        `(${Math.round(performance.now() - started)} ms seen by the client)`,
    );
  } finally {
    await api?.stop();
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 10_000) await redis.del(...keys.slice(i, i + 10_000));
    redis.disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);

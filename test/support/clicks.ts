import * as amqp from 'amqplib';
import { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from './database';
import { eventually } from './eventually';
import { LinksClient, type LinkBody } from './http';
import { metric } from './metrics';
import { freePort } from './ports';
import { RABBITMQ_URL, REDIS_URL } from './services';

class PortTakenError extends Error {
  constructor() {
    super('the port was taken before redis-server could bind it');
  }
}

const readIfThere = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** A short random suffix for stream, group and queue names, so that runs never share them. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** Creates a link to `url` on the api at `apiUrl`. */
export const createLink = (
  apiUrl: string,
  url = 'https://example.com/landing',
): Promise<LinkBody> => new LinksClient(apiUrl).create({ url });

const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/**
 * Sends `count` redirects of `code`, `concurrency` at a time; request i carries the referrer
 * `https://proof.test/<tag>/<i>`, so that the stored clicks can be matched to requests one by one.
 * Resolves with the count of each status code answered. `onProgress` sees the number sent so far.
 */
export async function fireRedirects(
  apiUrl: string,
  code: string,
  count: number,
  options: {
    tag: string;
    concurrency?: number;
    start?: number;
    onProgress?: (sent: number) => void;
  },
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = options.start ?? 0;
  const end = next + count;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const i = next++;
      let status = 0;
      try {
        const response = await fetch(`${apiUrl}/${code}`, {
          redirect: 'manual',
          headers: { referer: `https://proof.test/${options.tag}/${i}`, 'user-agent': BROWSER },
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = -1;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      options.onProgress?.(++sent);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker));
  return statuses;
}

export interface StoredClicks {
  readonly rows: number;
  readonly distinctIds: number;
  readonly distinctReferrers: number;
  readonly rollupTotal: number;
}

/** What PostgreSQL holds for the link `code`: rows, distinct ids and referrers, rollup total. */
export async function storedClicks(databaseUrl: string, code: string): Promise<StoredClicks> {
  const [row] = await query<{
    rows: string;
    ids: string;
    referrers: string;
    rollup: string | null;
  }>(
    databaseUrl,
    `SELECT count(c.id) AS rows, count(DISTINCT c.id) AS ids, count(DISTINCT c.referrer) AS referrers,
            (SELECT sum(total) FROM click_daily_rollups r WHERE r.link_id = l.id) AS rollup
       FROM links l LEFT JOIN clicks c ON c.link_id = l.id
      WHERE l.code = $1
      GROUP BY l.id`,
    [code],
  );
  return {
    rows: Number(row?.rows ?? 0),
    distinctIds: Number(row?.ids ?? 0),
    distinctReferrers: Number(row?.referrers ?? 0),
    rollupTotal: Number(row?.rollup ?? 0),
  };
}

/**
 * Visitors of `code` as its rollups count them and as its day sets hold them, and the number of
 * UTC days its clicks fall on (with one browser on one address: one visitor a day).
 */
export async function storedVisitors(
  databaseUrl: string,
  code: string,
): Promise<{ rollup: number; set: number; days: number }> {
  const [row] = await query<{ rollup: number | null; set: number; days: number }>(
    databaseUrl,
    `SELECT (SELECT sum(visitors)::int FROM click_daily_rollups r WHERE r.link_id = l.id) AS rollup,
            (SELECT count(*)::int FROM click_daily_visitors v WHERE v.link_id = l.id) AS set,
            (SELECT count(DISTINCT (c.occurred_at AT TIME ZONE 'UTC')::date)::int
               FROM clicks c WHERE c.link_id = l.id) AS days
       FROM links l WHERE l.code = $1`,
    [code],
  );
  return { rollup: row?.rollup ?? 0, set: row?.set ?? 0, days: row?.days ?? 0 };
}

/** The referrer index (i of `https://proof.test/<tag>/<i>`) of every click stored for `code`. */
export async function storedIndexes(
  databaseUrl: string,
  code: string,
  tag: string,
): Promise<number[]> {
  const rows = await query<{ referrer: string }>(
    databaseUrl,
    `SELECT c.referrer FROM clicks c JOIN links l ON l.id = c.link_id WHERE l.code = $1`,
    [code],
  );
  const prefix = `https://proof.test/${tag}/`;
  return rows.map((r) =>
    r.referrer.startsWith(prefix) ? Number(r.referrer.slice(prefix.length)) : -1,
  );
}

/** Asserts that `indexes` holds each of 0..n-1 exactly once; returns a description if not. */
export function exactlyOnce(indexes: readonly number[], n: number): string | null {
  const seen = new Map<number, number>();
  for (const i of indexes) seen.set(i, (seen.get(i) ?? 0) + 1);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen.has(i)) missing.push(i);
  const repeated = [...seen].filter(([, c]) => c > 1).map(([i]) => i);
  const stray = [...seen.keys()].filter((i) => i < 0 || i >= n);
  if (missing.length === 0 && repeated.length === 0 && stray.length === 0) return null;
  return `missing ${missing.length} (${missing.slice(0, 5).join(',')}), repeated ${repeated.length}, stray ${stray.length}`;
}

/**
 * A redis-server of the test's own, on a port from the OS (kept across restarts), with an
 * fsync-always append-only file, so that it can be killed and restarted with its streams and
 * groups intact (as a production Redis that carries click streams must be configured).
 */
export class OwnRedis {
  private readonly dir = mkdtempSync(join(tmpdir(), 'snip-redis-'));
  private port_ = 0;

  /** The port; 0 until the first start. */
  get port(): number {
    return this.port_;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port_}`;
  }

  /**
   * Starts the server and resolves once it answers. The first start takes a free port from the
   * OS, and another one should something else take it before redis-server binds it.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const first = this.port_ === 0;
      if (first) this.port_ = await freePort();
      try {
        await this.launch();
        return;
      } catch (error) {
        if (!first || attempt >= 3 || !(error instanceof PortTakenError)) throw error;
        this.port_ = 0;
      }
    }
  }

  private async launch(): Promise<void> {
    const log = join(this.dir, 'redis.log');
    rmSync(log, { force: true });
    execFileSync('redis-server', [
      '--port',
      String(this.port_),
      '--bind',
      '127.0.0.1',
      '--daemonize',
      'yes',
      '--dir',
      this.dir,
      '--pidfile',
      join(this.dir, 'redis.pid'),
      '--logfile',
      log,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
    const state = await eventually(
      (): 'taken' | 'up' | 'starting' => {
        if (readIfThere(log).includes('Address already in use')) return 'taken';
        // The server answering must be this one, not another that holds the port.
        const pid = /process_id:(\d+)/.exec(
          execFileSync('redis-cli', ['-p', String(this.port_), 'info', 'server']).toString(),
        )?.[1];
        return pid !== undefined && pid === readIfThere(join(this.dir, 'redis.pid')).trim()
          ? 'up'
          : 'starting';
      },
      (now) => now !== 'starting',
      { timeoutMs: 10_000, intervalMs: 100, what: `redis-server on ${this.port_}` },
    );
    if (state === 'taken') throw new PortTakenError();
  }

  /** SIGSTOP: the server keeps its connections open and answers nothing until thaw(). */
  freeze(): void {
    process.kill(this.pid(), 'SIGSTOP');
  }

  /** SIGCONT after freeze(); harmless when it runs or is gone. */
  thaw(): void {
    try {
      process.kill(this.pid(), 'SIGCONT');
    } catch {
      // not running
    }
  }

  private pid(): number {
    return Number(readFileSync(join(this.dir, 'redis.pid'), 'utf8').trim());
  }

  /** SIGKILL, as a crash: nothing is flushed beyond what fsync already wrote. */
  async kill(): Promise<void> {
    const pid = Number(readFileSync(join(this.dir, 'redis.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await eventually(
      () =>
        Promise.resolve(
          (() => {
            try {
              process.kill(pid, 0);
              return true;
            } catch {
              return false;
            }
          })(),
        ),
      (alive) => !alive,
      { timeoutMs: 10_000, intervalMs: 50, what: `redis-server ${pid} to die` },
    );
  }

  async destroy(): Promise<void> {
    try {
      await this.kill();
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis reply of alternating names and values, as a map. */
export function pairs(flat: readonly unknown[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
  return map;
}

/** Where click events travel: the apis that publish them, and the broker queue or stream. */
export type ClickRoute =
  | { readonly apiUrls: readonly string[]; readonly stream: string }
  | { readonly apiUrls: readonly string[]; readonly queue: string };

/**
 * Whether nothing is on its way any more: every api holds no event, and the broker has none that a
 * worker has not taken and acknowledged (Redis: every entry of `stream`, the full key, delivered
 * and none pending; RabbitMQ: no message ready in `queue`). Acknowledgements come only after the
 * insert committed, so once it holds, no row can still come.
 */
export async function pipelineIdle(route: ClickRoute): Promise<boolean> {
  for (const url of route.apiUrls) {
    if ((await metric(url, 'snip_clicks_buffered')) !== 0) return false;
  }
  if ('stream' in route) {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const stream = pairs((await redis.xinfo('STREAM', route.stream)) as unknown[]);
      const groups = ((await redis.xinfo('GROUPS', route.stream)) as unknown[][]).map(pairs);
      return groups.every(
        (group) =>
          group.get('pending') === 0 &&
          group.get('last-delivered-id') === stream.get('last-generated-id'),
      );
    } finally {
      redis.disconnect();
    }
  }
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(route.queue)).messageCount === 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

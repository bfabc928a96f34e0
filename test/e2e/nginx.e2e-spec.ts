import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { uniqueName } from '../support/clicks';
import { createTestDatabase, query, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { LinksClient } from '../support/http';
import { metric } from '../support/metrics';
import { freePort } from '../support/ports';
import {
  ROOT,
  spawnApi,
  spawnEdge,
  spawnLogs,
  type SpawnedApi,
  type SpawnedEdge,
  type SpawnedLogs,
} from '../support/process';
import { REDIS_URL } from '../support/services';

/**
 * deploy/nginx/snip.conf, rendered as an operator would, in a real nginx in front of two edges and
 * an api (built apps: `npm run build` first; nginx from `scripts/tools.sh nginx`). Every hop has a
 * loopback address of its own, so that the test tells them apart: the client connects from
 * 127.0.0.9, nginx to the edges from 127.0.0.2 (proxy_bind, added by the test only), the edges to
 * the api from 127.0.0.1. The edges trust nginx; the api trusts nginx and the edges.
 */
jest.setTimeout(120_000);

const CLIENT = '127.0.0.9';
const NGINX_SOURCE = '127.0.0.2';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request from CLIENT's address, on a connection of its own. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: CLIENT,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** snip.conf with its ${SNIP_*} placeholders replaced; throws on one left without a value. */
function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(SNIP_[A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`snip.conf: no value for \${${name}}`);
    return value;
  });
}

const findNginx = (): string => {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  throw new Error('nginx is not installed: run scripts/tools.sh nginx');
};

describe('nginx in front of two edges (deploy/nginx/snip.conf)', () => {
  const prefix = `${uniqueName('snip-nginx')}:`;
  const stream = uniqueName('clicks');
  const dir = mkdtempSync(join(tmpdir(), 'snip-nginx-'));
  let db: TestDatabase;
  let api: SpawnedApi;
  let worker: SpawnedLogs;
  const edges: SpawnedEdge[] = [];
  /** The i-th edge, started in beforeAll. */
  const edge = (i: number): SpawnedEdge => {
    const found = edges[i];
    if (!found) throw new Error(`edge ${i} did not start`);
    return found;
  };
  const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
  let nginx: ChildProcess | undefined;
  let nginxExited: Promise<unknown> = Promise.resolve();
  let nginxOutput = '';
  let base = '';
  let redis: Redis;

  const env = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CLICKS_TRANSPORT: 'redis-streams',
    CLICKS_STREAM: stream,
    CLICKS_DEAD_LETTER_STREAM: `${stream}:dead`,
    CLICKS_BATCH_INTERVAL_MS: '100',
    CLICKS_PUBLISH_INTERVAL_MS: '20',
    CLICKS_IP_MODE: 'raw',
    RATE_LIMIT_EXEMPT_LOOPBACK: 'true',
  });
  const accessLog = (): string => {
    try {
      return readFileSync(join(dir, 'snip.access.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const storedIps = (code: string, count: number): Promise<(string | null)[]> =>
    eventually(
      async () =>
        (
          await query<{ ip: string | null }>(
            db.url,
            `SELECT c.ip FROM clicks c JOIN links l ON l.id = c.link_id WHERE l.code = $1
              ORDER BY c.ip`,
            [code],
          )
        ).map((row) => row.ip),
      (ips) => ips.length >= count,
      { timeoutMs: 60_000, what: `${count} clicks of ${code} to be stored` },
    );

  beforeAll(async () => {
    const binary = findNginx();
    db = await createTestDatabase('snip_nginx');
    api = await spawnApi({
      env: { ...env(), TRUSTED_PROXIES: `127.0.0.1,${NGINX_SOURCE}` },
    });
    worker = await spawnLogs(env());
    for (let i = 0; i < 2; i++) {
      edges.push(
        await spawnEdge({ ...env(), EDGE_UPSTREAM_URL: api.url, TRUSTED_PROXIES: NGINX_SOURCE }),
      );
    }
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

    const port = await freePort();
    const hostPort = (url: string): string => new URL(url).host;
    writeFileSync(
      join(dir, 'snip.conf'),
      renderTemplate(readFileSync(join(ROOT, 'deploy/nginx/snip.conf'), 'utf8'), {
        SNIP_LISTEN: `127.0.0.1:${port}`,
        SNIP_EDGE_1: hostPort(edge(0).url),
        SNIP_EDGE_2: hostPort(edge(1).url),
        SNIP_LOG_DIR: dir,
      }),
    );
    const temp = join(dir, 'temp');
    mkdirSync(temp);
    // The rest of a main nginx.conf, in the temporary directory: the Debian build's compiled-in
    // paths (/var/lib/nginx, /var/log/nginx) are not the test's to write.
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        // Root runs its workers as `nobody` otherwise, who could not read the temporary directory.
        process.getuid?.() === 0 ? 'user root;' : '',
        'worker_processes 1;',
        `error_log ${join(dir, 'error.log')} info;`,
        'events { worker_connections 256; }',
        'http {',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (kind) => `  ${kind}_temp_path ${join(temp, kind)};`,
        ),
        `  proxy_bind ${NGINX_SOURCE};`,
        `  include ${join(dir, 'snip.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
    const check = spawnSync(binary, [...args, '-t'], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t refused the configuration: ${check.stderr}`);
    nginx = spawn(binary, [...args, '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nginx.stdout?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
    nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
    const child = nginx;
    nginxExited = new Promise((done) => child.once('exit', done));
    base = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${nginxOutput}`);
        return (await send(`${base}/health/live`).catch(() => null))?.status === 200;
      },
      { timeoutMs: 10_000, what: 'nginx to answer' },
    );
  }, 120_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      nginx.kill('SIGQUIT');
      const timer = setTimeout(() => nginx?.kill('SIGKILL'), 5000);
      await nginxExited;
      clearTimeout(timer);
    }
    for (const running of edges) await running.stop();
    await api?.stop();
    await worker?.stop();
    if (redis) {
      try {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.del(`${prefix}${stream}`, `${prefix}${stream}:dead`);
      } finally {
        redis.disconnect();
      }
    }
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the REST API and redirects through nginx, over both edges', async () => {
    const created = await new LinksClient(base).create({ url: 'https://example.com/nginx' });
    expect(created.shortUrl).toContain(created.code);
    const rest = await send(`${base}/api/v1/links/${created.code}`, {
      headers: { 'x-request-id': 'nginx-rest-1' },
    });
    expect(rest.status).toBe(200);
    expect(rest.headers['x-request-id']).toBe('nginx-rest-1');
    expect((JSON.parse(rest.body) as { code: string }).code).toBe(created.code);

    const redirects = (i: number): Promise<number> => metric(edge(i).url, 'snip_redirects_total');
    const before = [await redirects(0), await redirects(1)] as const;
    for (let i = 0; i < 10; i++) {
      const res = await send(`${base}/${created.code}?utm=${i}`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`https://example.com/nginx?utm=${i}`);
      // nginx made the id when the client sent none, and the edge kept it.
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    }
    // Round robin over keep-alive connections: each edge answered some.
    const after = [await redirects(0), await redirects(1)] as const;
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
    const upstreams = [...accessLog().matchAll(/upstream=(\S+)/g)].map((match) => match[1]);
    for (const running of edges) expect(upstreams).toContain(new URL(running.url).host);
    // /metrics is not public.
    expect((await send(`${base}/metrics`)).status).toBe(404);
  });

  it("records the client's address, not nginx's or an edge's, for hits and forwarded misses", async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/ip' });
    // A hit: answered by an edge from the cache the api filled on create.
    expect((await send(`${base}/${code}`)).status).toBe(302);
    // A header the client forged is kept in the chain, but never believed: 127.0.0.9 sent it.
    expect(
      (await send(`${base}/${code}`, { headers: { 'x-forwarded-for': '198.51.100.7' } })).status,
    ).toBe(302);
    // A miss: a code no edge has seen, gone from Redis, forwarded by an edge to the api, which
    // records the click itself.
    const missed = await new LinksClient(api.url).create({ url: 'https://example.com/ip-miss' });
    await redis.del(`${prefix}cache:link:${missed.code}`);
    const forwarded = async (): Promise<number> =>
      sum(
        await Promise.all(
          edges.map((e) => metric(e.url, 'snip_edge_forwards_total', { reason: 'miss' })),
        ),
      );
    const misses = await forwarded();
    expect((await send(`${base}/${missed.code}`)).status).toBe(302);
    expect(await forwarded()).toBe(misses + 1);
    expect(await storedIps(code, 2)).toEqual([CLIENT, CLIENT]);
    expect(await storedIps(missed.code, 1)).toEqual([CLIENT]);
  });

  it('keeps answering when an edge is gone, retrying an idempotent request on the other', async () => {
    const { code } = await new LinksClient(api.url).create({ url: 'https://example.com/down' });
    await edge(1).stop();
    for (let i = 0; i < 6; i++) {
      const res = await send(`${base}/${code}`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('https://example.com/down');
    }
    // A refused connection means nothing was sent: nginx may try a POST on the other edge then
    // (never once the request has reached an edge: no `non_idempotent`).
    const created = await send(`${base}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/post-once' }),
    });
    expect(created.status).toBe(201);
    const { code: posted } = JSON.parse(created.body) as { code: string };
    expect((await send(`${base}/${posted}`)).headers.location).toBe(
      'https://example.com/post-once',
    );
    expect(accessLog()).toContain(new URL(edge(1).url).host);
  });
});

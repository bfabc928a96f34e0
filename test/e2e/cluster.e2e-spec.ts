import { execFileSync, spawnSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { createTestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { LinksClient, rawRequest } from '../support/http';
import { metric, uniquePrefix } from '../support/metrics';
import { alive, childPids, ROOT, runApiToExit, runCli, spawnApi } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

jest.setTimeout(90_000);

const WORKERS = 2;

/** Pids of the processes whose access log has a line for `path`, from the api's output. */
function servedBy(output: readonly string[], path: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output) {
    if (!line.includes('"msg":"request"')) continue;
    const entry = JSON.parse(line) as { pid: number; path?: string };
    if (entry.path === path) pids.add(entry.pid);
  }
  return pids;
}

/** `count` GETs of `path`, one after the other, each on a new connection (round-robin per connection). */
async function visits(url: string, path: string, count: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await rawRequest(url, { path }).catch((error: NodeJS.ErrnoException) => ({
      status: 0,
      headers: { location: error.code ?? 'error' },
    }));
    answers.push(`${res.status} ${String(res.headers.location)}`);
  }
  return answers;
}

/** The `# TYPE` lines of an exposition: every metric name and type, without the series. */
const metricTypes = (exposition: string): string[] =>
  exposition
    .split('\n')
    .filter((line) => line.startsWith('# TYPE '))
    .sort();

describe('WEB_CONCURRENCY above 1 is refused', () => {
  it('with the embedded database, which one process owns', async () => {
    const run = await runApiToExit({ WEB_CONCURRENCY: '2', REDIS_URL });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WEB_CONCURRENCY: above 1 needs DATABASE_URL');
  });

  it('without Redis, which carries the L1 evictions between workers', async () => {
    const run = await runApiToExit({
      WEB_CONCURRENCY: '2',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WEB_CONCURRENCY: above 1 needs REDIS_URL');
  });

  it('a bad value names the key', async () => {
    const run = await runApiToExit({ WEB_CONCURRENCY: '65' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WEB_CONCURRENCY: expected a whole number from 1 to 64, or auto');
  });
});

describe(`the api with WEB_CONCURRENCY=${WORKERS}`, () => {
  const env = {
    WEB_CONCURRENCY: String(WORKERS),
    REDIS_URL,
    REDIS_KEY_PREFIX: uniquePrefix('cluster'),
    REDIRECT_ACCESS_LOG_SAMPLE_RATE: '1',
  };
  const { db, api } = useTestApi({ env, stopSignal: 'SIGKILL' });

  beforeAll(() => {
    // The project's own installer (apt-get prometheus) when promtool is missing.
    execFileSync('bash', ['scripts/tools.sh', 'promtool'], { cwd: ROOT, stdio: 'inherit' });
  });
  const workers = (): number[] => childPids(api.process.pid!);

  it('leaves the command line alone: it is one process, with or without Redis', async () => {
    const run = await runCli(['migration:show'], {
      DATABASE_URL: db.url,
      WEB_CONCURRENCY: String(WORKERS),
    });
    expect(run).toMatchObject({ code: 0 });
  });

  it('runs one primary and that many workers, each answering', async () => {
    expect(workers()).toHaveLength(WORKERS);
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/both' });
    const answers = await visits(api.url, `/${link.code}`, 10);
    expect(new Set(answers)).toEqual(new Set(['302 https://example.com/both']));
    await eventually(() => servedBy(api.output, `/${link.code}`).size === WORKERS, {
      what: 'an access log line of every worker',
    });
    expect([...servedBy(api.output, `/${link.code}`)].sort((a, b) => a - b)).toEqual(workers());
    // One "listening" line, from the primary, once every worker listens.
    const listening = api.output.filter((line) => line.includes('snip api listening'));
    expect(listening).toHaveLength(1);
    expect(JSON.parse(listening[0]!)).toMatchObject({ pid: api.process.pid, workers: WORKERS });
  });

  it('answers one /metrics scrape for every worker, with the names of a single process', async () => {
    const links = new LinksClient(api.url);
    const link = await links.create({ url: 'https://example.com/counted' });
    const before = await metric(api.url, 'snip_redirects_total', { outcome: 'redirected' });
    const k = 25;
    const answers = await visits(api.url, `/${link.code}`, k);
    expect(answers.filter((answer) => !answer.startsWith('302'))).toEqual([]);
    expect(servedBy(api.output, `/${link.code}`).size).toBe(WORKERS);

    // Whichever worker takes the scrape (each on a new connection), the sum is the same.
    for (let i = 0; i < 4; i++) {
      const res = await rawRequest(api.url, { path: '/metrics' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const counted = await metric(api.url, 'snip_redirects_total', { outcome: 'redirected' });
      expect(counted - before).toBe(k);
      const requests = res.body
        .split('\n')
        .filter((line) =>
          line.startsWith(
            `http_request_duration_seconds_count{method="GET",route="/:code",status_code="302"}`,
          ),
        );
      expect(requests).toHaveLength(1);
    }

    const exposition = await (await fetch(`${api.url}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: exposition,
      encoding: 'utf8',
    });
    expect({ status: check.status, findings: `${check.stdout}${check.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });

    // The same metrics, by name and type, as one process that did the same work.
    const single = await spawnApi({
      env: { DATABASE_URL: db.url, REDIS_URL, REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX },
    });
    try {
      expect((await visits(single.url, `/${link.code}`, 2))[0]).toMatch(/^302 /);
      await links.get(link.code);
      await new LinksClient(single.url).create({ url: 'https://example.com/single' });
      await visits(single.url, '/nO-sUch-c0de', 1);
      await visits(api.url, '/nO-sUch-c0de', WORKERS);
      const alone = await (await fetch(`${single.url}/metrics`)).text();
      expect(metricTypes(await (await fetch(`${api.url}/metrics`)).text())).toEqual(
        metricTypes(alone),
      );
    } finally {
      await single.stop();
    }
  });

  it('keeps an L1 per worker, and an update through one reaches every worker within a second', async () => {
    const links = new LinksClient(api.url);
    const link = await links.create({ url: 'https://example.com/before' });
    const path = `/${link.code}`;
    const l1Misses = () =>
      metric(api.url, 'snip_cache_lookups_total', { tier: 'l1', result: 'miss' });
    const missesBefore = await l1Misses();
    // Every worker caches it: each misses its own L1 once, then hits.
    const answers = await visits(api.url, path, 8);
    expect(new Set(answers)).toEqual(new Set(['302 https://example.com/before']));
    expect(servedBy(api.output, path).size).toBe(WORKERS);
    // The worker that created it holds it already (write-through); each other one misses once.
    expect((await l1Misses()) - missesBefore).toBe(WORKERS - 1);

    const res = await links.patch(link.code, { url: 'https://example.com/after' });
    expect(res.status).toBe(200);
    const changed = Date.now();
    await eventually(
      () => visits(api.url, path, 2 * WORKERS),
      (seen) => seen.every((answer) => answer === '302 https://example.com/after'),
      { timeoutMs: 1000, intervalMs: 10, what: 'every worker to redirect to the new target' },
    );
    expect(Date.now() - changed).toBeLessThan(1000);
  });

  it('restarts a worker killed with SIGKILL, and the other answers meanwhile', async () => {
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/survivor' });
    const path = `/${link.code}`;
    const [victim, survivor] = workers();
    process.kill(victim!, 'SIGKILL');
    await eventually(() => !workers().includes(victim!), { what: 'the killed worker to be gone' });
    // The primary restarts it at once; until then the survivor takes every connection.
    const meanwhile = await visits(api.url, path, 10);
    expect(new Set(meanwhile)).toEqual(new Set(['302 https://example.com/survivor']));

    const restarted = await eventually(
      () => workers(),
      (pids) => pids.length === WORKERS && !pids.includes(victim!),
      { timeoutMs: 20_000, what: 'a new worker' },
    );
    expect(restarted).toContain(survivor);
    await eventually(() => api.output.some((line) => line.includes('"msg":"worker restarted"')), {
      timeoutMs: 20_000,
      what: 'the restarted worker to listen',
    });
    const died = api.output.find((line) => line.includes('api worker died, restarting it'));
    expect(JSON.parse(died!)).toMatchObject({
      pid: api.process.pid,
      workerPid: victim,
      signal: 'SIGKILL',
      restartInMs: 0,
    });
    expect(new Set(await visits(api.url, path, 10))).toEqual(
      new Set(['302 https://example.com/survivor']),
    );
    // The survivor alone before the restart, both after.
    await eventually(
      () => [...servedBy(api.output, path)].sort((a, b) => a - b).join(),
      (pids) => pids === restarted.join(),
      { what: 'the new worker to answer too' },
    );
  });

  it('drains every worker on SIGTERM: the requests in flight finish, exit 0, no worker left', async () => {
    const { port } = new URL(api.url);
    const pids = workers();
    // Keep-alive connections, each probed first (a GET whose access-log line names the worker that
    // took the connection), until every worker holds at least two: round-robin across workers is
    // not strict (a worker that acknowledges its connections faster gets more).
    const connections: { agent: Agent; pid: number }[] = [];
    const perWorker = (pid: number) => connections.filter((c) => c.pid === pid).length;
    for (let i = 0; pids.some((pid) => perWorker(pid) < 2); i++) {
      if (i >= 40)
        throw new Error(
          `40 connections and not two on each worker: ${JSON.stringify(connections.map((c) => c.pid))}`,
        );
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const path = `/api/v1/links/held-probe-${i}`;
      await new Promise<void>((done, fail) => {
        const probe = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => done());
        });
        probe.on('error', fail);
        probe.end();
      });
      await eventually(() => servedBy(api.output, path).size === 1, { what: `the log of ${path}` });
      connections.push({ agent, pid: [...servedBy(api.output, path)][0]! });
    }
    // Creates whose bodies are held back until after SIGTERM (see lifecycle.e2e-spec.ts), on those
    // connections, so every worker has requests in flight when it is told to stop.
    const held = connections.map(({ agent }, i) => {
      const body = JSON.stringify({ url: `https://example.com/in-flight/${i}` });
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/links',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          expect: '100-continue',
        },
      });
      const accepted = new Promise<void>((done) => request.once('continue', () => done()));
      const response = new Promise<number>((done, fail) => {
        request.on('response', (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        });
        request.on('error', fail);
      });
      request.flushHeaders();
      return { request, body, accepted, response };
    });
    await Promise.all(held.map((h) => h.accepted));

    api.process.kill('SIGTERM');
    await eventually(
      () =>
        api.output.filter((line) =>
          line.includes('"msg":"shutting down: draining in-flight requests"'),
        ).length === WORKERS,
      { timeoutMs: 15_000, what: 'every worker to start draining' },
    );
    for (const h of held) h.request.end(h.body);
    expect(await Promise.all(held.map((h) => h.response))).toEqual(held.map(() => 201));
    // Each create went on its probed connection (so to the worker the probe named), not on a new one.
    expect(held.map((h) => h.request.reusedSocket)).toEqual(held.map(() => true));
    for (const { agent } of connections) agent.destroy();

    expect(await api.exited).toBe(0);
    // Every worker logged creates (a worker killed by an earlier test may have served some too). A
    // worker's access-log line can reach the pipe after its answer reached the client: waited for.
    await eventually(
      () => [...servedBy(api.output, '/api/v1/links')],
      (served) => pids.every((pid) => served.includes(pid)),
      { what: 'an access-log line of a create from every worker' },
    );
    expect(api.process.signalCode).toBeNull();
    for (const pid of pids) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
    const stopped = api.output.filter((line) => line.includes('"msg":"stopped"'));
    expect(stopped).toHaveLength(WORKERS + 1);
  });
});

describe('SIGINT to the primary', () => {
  it('drains every worker as SIGTERM does: exit 0, no worker left', async () => {
    const db = await createTestDatabase();
    try {
      const api = await spawnApi({
        env: { DATABASE_URL: db.url, REDIS_URL, WEB_CONCURRENCY: '2' },
      });
      const pids = childPids(api.process.pid!);
      expect(pids).toHaveLength(2);
      expect(await api.stop('SIGINT')).toBe(0);
      for (const pid of pids) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
      const draining = api.output.filter((line) =>
        line.includes('"msg":"shutting down: draining in-flight requests"'),
      );
      expect(draining).toHaveLength(2);
    } finally {
      await db.drop();
    }
  });
});

describe('a worker that fails to start', () => {
  it('stops the others, and the primary exits 1', async () => {
    // An empty database and no migrations at boot: every worker refuses (schema behind).
    const db = await createTestDatabase();
    try {
      const run = await runApiToExit({
        WEB_CONCURRENCY: '2',
        REDIS_URL,
        DATABASE_URL: db.url,
        DATABASE_MIGRATE_ON_BOOT: 'false',
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('api worker failed to start');
      expect(run.stdout).toMatch(/"failed":true,"msg":"stopped, a worker failed"/);
    } finally {
      await db.drop();
    }
  });
});

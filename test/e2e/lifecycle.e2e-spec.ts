import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, LinksClient } from '../support/http';
import { eventually } from '../support/eventually';
import { runApiToExit, spawnApi, type SpawnedApi } from '../support/process';
import { useTestApi } from '../support/suite';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(30_000);

describe('readiness when the database goes away', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let api: SpawnedApi;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
    api = await spawnApi({ env: { DATABASE_URL: proxy.rewrite(db.url) } });
  }, 60_000);
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await proxy?.cut();
    await db?.drop();
  });

  it('answers 503 naming the database while it is down, and 200 once it is back', async () => {
    expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
    const links = new LinksClient(api.url);
    const link = await links.create({ url: 'https://example.com/outage' });

    await proxy.cut();
    const down = await fetch(`${api.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.headers.get('cache-control')).toBe('no-store');
    expect(await down.json()).toMatchObject({
      status: 'error',
      error: { database: { status: 'down' } },
    });
    // The process itself is fine.
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
    // A request that needs the database is told to retry, without revealing why.
    const res = await links.list('?limit=5');
    expect(res.headers.get('retry-after')).toBe('5');
    const problem = await expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
    expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|snip_test|postgres/i);

    await proxy.open();
    await eventually(async () => (await fetch(`${api.url}/health/ready`)).status === 200, {
      timeoutMs: 15_000,
      what: '/health/ready to recover',
    });
    expect((await links.list('?limit=5')).status).toBe(200);
    expect((await links.redirect(`/${link.code}`)).status).toBe(302);
    expect(api.process.exitCode).toBeNull();
  });
});

describe('graceful shutdown on SIGTERM', () => {
  const { api } = useTestApi({ stopSignal: 'SIGKILL' });

  it('stops accepting, finishes the request in flight, then exits 0', async () => {
    const { port } = new URL(api.url);
    const body = JSON.stringify({ url: 'https://example.com/in-flight' });

    // A create whose body is held back until after SIGTERM. "Expect: 100-continue" makes the
    // server confirm it has the request (its headers parsed) before the signal is sent.
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/v1/links',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const accepted = new Promise<void>((done) => request.once('continue', () => done()));
    const response = new Promise<{ status: number; body: string }>((done, fail) => {
      request.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
      });
      request.on('error', fail);
    });
    request.flushHeaders();
    await accepted;

    api.process.kill('SIGTERM');
    await eventually(() => api.output.some((line) => line.includes('shutting down')), {
      timeoutMs: 15_000,
      what: 'the api to start shutting down',
    });
    // New connections are refused (or told 503) while the request in flight still runs.
    await eventually(
      () =>
        fetch(`${api.url}/health/live`).then(
          (res) => res.status === 503,
          () => true,
        ),
      { timeoutMs: 15_000, what: 'the api to stop accepting' },
    );
    expect(api.process.exitCode).toBeNull();

    request.end(body);
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ url: 'https://example.com/in-flight' });

    expect(await api.exited).toBe(0);
    expect(api.process.signalCode).toBeNull();
    expect(api.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });
});

describe('port in use', () => {
  it('exits 1 with one line naming the port and no stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((done) => holder.listen({ port: 0, host: '127.0.0.1' }, done));
    try {
      const { port } = holder.address() as AddressInfo;
      const run = await runApiToExit({ PORT: String(port) });
      const output = `${run.stdout}${run.stderr}`.trim();
      expect(run.code).toBe(1);
      expect(output.split('\n')).toEqual([
        expect.stringContaining(`port ${port} on 127.0.0.1 is already in use (PORT)`),
      ]);
      expect(output).not.toMatch(/\bat .*:\d+:\d+\)|"stack"/);
    } finally {
      await new Promise((done) => holder.close(done));
    }
  });
});

describe('invalid configuration', () => {
  it('stops the boot with a non-zero exit naming the key and the problem', async () => {
    const [badPort, production, profile] = await Promise.all([
      runApiToExit({ PORT: 'abc' }),
      runApiToExit({ SNIP_PROFILE: 'production', SHORT_CODE_SECRET: '' }),
      runApiToExit({ SNIP_PROFILE: 'staging' }),
    ]);

    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toMatch(/PORT: expected a whole number \(got "abc"\)/);
    expect(badPort.stdout).not.toContain('listening');

    expect(production.code).toBe(1);
    for (const key of ['DATABASE_URL', 'SHORT_CODE_SECRET', 'PUBLIC_BASE_URL']) {
      expect(production.stderr).toMatch(
        new RegExp(`${key}: is required in the production profile`),
      );
    }

    expect(profile.code).toBe(1);
    expect(profile.stderr).toMatch(/SNIP_PROFILE: "staging" is not one of/);
  });
});

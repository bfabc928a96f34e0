import { Agent, request as httpRequest } from 'node:http';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { LinksClient } from '../support/http';
import { spawnApi, type SpawnedApi } from '../support/process';

jest.setTimeout(60_000);

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly code?: string;
  readonly retryAfter?: string;
}

/** GET `path` through `agent`; resolves with the answer or the error code of a failed request. */
function get(agent: Agent, url: string, path: string): Promise<Answer | { error: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const req = httpRequest({ host: hostname, port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const answer: Answer = {
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          retryAfter: res.headers['retry-after'],
        };
        done(
          res.statusCode === 503
            ? { ...answer, code: (JSON.parse(body) as { code?: string }).code }
            : answer,
        );
      });
      res.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? 'error' }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? 'error' }));
    req.end();
  });
}

describe('draining on SIGTERM', () => {
  let db: TestDatabase;
  let api: SpawnedApi | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await api?.stop('SIGKILL');
    api = undefined;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers requests on open keep-alive connections (503 and Connection: close) and resets none', async () => {
    api = await spawnApi({ env: { DATABASE_URL: db.url } });
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/drain' });
    const connections = 16;
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const answers: Answer[] = [];
    const errors: string[] = [];
    let stopping = false;
    // Each loop fires requests back to back until told to close its connection (or it fails).
    const loop = async (n: number): Promise<void> => {
      for (let i = 0; ; i++) {
        const answer = await get(agent, api!.url, (n + i) % 2 ? `/${link.code}` : '/health/live');
        if ('error' in answer) {
          errors.push(answer.error);
          return;
        }
        answers.push(answer);
        if (answer.connection === 'close' && stopping) return;
        if (answer.status === 503) return;
      }
    };
    const loops = Array.from({ length: connections }, (_, n) => loop(n));
    await eventually(() => answers.length >= connections * 20, {
      timeoutMs: 15_000,
      what: 'the keep-alive loops to get going',
    });
    stopping = true;
    api.process.kill('SIGTERM');
    await Promise.all(loops);
    agent.destroy();

    expect(errors).toEqual([]);
    expect(await api.exited).toBe(0);
    for (const answer of answers) expect([200, 302, 503]).toContain(answer.status);
    const refused = answers.filter((answer) => answer.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer).toMatchObject({ code: 'SHUTTING_DOWN', connection: 'close', retryAfter: '1' });
    }
  });

  it('answers readiness 503 shutting_down during SHUTDOWN_DRAIN_DELAY_MS, and serves meanwhile', async () => {
    api = await spawnApi({ env: { DATABASE_URL: db.url, SHUTDOWN_DRAIN_DELAY_MS: '3000' } });
    const running = api;
    expect((await fetch(`${running.url}/health/ready`)).status).toBe(200);
    running.process.kill('SIGTERM');
    const ready = await eventually(
      () => fetch(`${running.url}/health/ready`),
      (res) => res.status === 503,
      { timeoutMs: 2500, what: 'readiness to turn 503' },
    );
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'shutting_down' });
    // Still serving during the delay: the balancer has not noticed yet.
    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);
    expect(running.process.exitCode).toBeNull();
    expect(await running.exited).toBe(0);
  });
});

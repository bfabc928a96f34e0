import { storedClicks } from '../support/clicks';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { expectProblem, LinksClient } from '../support/http';
import { spawnApi, type SpawnedApi } from '../support/process';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(120_000);

const QUERY_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 1000;
/** A request may wait for a connection, then for its query; plus slack for a loaded machine. */
const ANSWER_BOUND_MS = CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 3000;

/** Lines of `api`'s log whose message is `msg`. */
const logLines = (api: SpawnedApi, msg: string): string[] =>
  api.output.filter((line) => line.includes(`"msg":"${msg}"`));

let codes = 0;
/** A code no link has, so that no cache can answer it. */
const unknownCode = (): string => `nolink${Date.now().toString(36)}${codes++}`;

describe('PostgreSQL frozen or unreachable', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let api: SpawnedApi;
  let links: LinksClient;

  beforeAll(async () => {
    db = await createTestDatabase('snip_outage');
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
    api = await spawnApi({
      env: {
        DATABASE_URL: proxy.rewrite(db.url),
        DATABASE_POOL_SIZE: '3',
        DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      },
    });
    links = new LinksClient(api.url);
  }, 60_000);

  afterAll(async () => {
    proxy?.thaw();
    await api?.stop('SIGKILL');
    await proxy?.cut();
    await db?.drop();
  });

  /** Every kind of request that needs the database answers 503 DATABASE_UNAVAILABLE in time. */
  async function expectOutageAnswers(): Promise<void> {
    const requests: Array<[string, () => Promise<Response>]> = [
      ['POST /api/v1/links', () => links.post({ url: 'https://example.com/during-outage' })],
      ['GET /api/v1/links', () => links.list('?limit=5')],
      ['GET /:code', () => links.redirect(`/${unknownCode()}`)],
      ['GET /:code', () => links.redirect(`/${unknownCode()}`)],
    ];
    for (const [what, send] of requests) {
      const started = performance.now();
      const res = await send();
      const ms = performance.now() - started;
      expect({ what, status: res.status }).toEqual({ what, status: 503 });
      expect(res.headers.get('retry-after')).toBe('5');
      const problem = await expectProblem(res, 503, 'DATABASE_UNAVAILABLE');
      expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|timeout|127\.0\.0\.1|postgres/i);
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    // A browser gets the HTML error page of the redirect, with the same status and Retry-After.
    const page = await fetch(`${api.url}/${unknownCode()}`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Database unavailable');
  }

  /** The same requests succeed again, on the same process. */
  async function expectServing(): Promise<void> {
    await eventually(async () => (await links.list('?limit=5')).status === 200, {
      timeoutMs: 15_000,
      what: 'the link list to answer 200 again',
    });
    const link = await links.create({ url: 'https://example.com/after-outage' });
    expect((await links.redirect(`/${link.code}`)).status).toBe(302);
    // Connections opened while the server was away may still time out once on a loaded machine:
    // serving again is a state the pool reaches, not a single request.
    await eventually(async () => (await links.redirect(`/${unknownCode()}`)).status === 404, {
      timeoutMs: 15_000,
      what: 'an unknown code to answer 404 again',
    });
    // Its click stored before the next cut, or the retried insert logs a warning with a stack.
    await eventually(async () => (await storedClicks(db.url, link.code)).distinctIds === 1, {
      timeoutMs: 15_000,
      what: 'the click to be stored',
    });
  }

  it('answers 503 with Retry-After while frozen, logs it once, and recovers after the thaw', async () => {
    // Connections in the pool first: a frozen server holds on to them.
    const link = await links.create({ url: 'https://example.com/before-outage' });
    expect(link.code).toBeTruthy();

    proxy.freeze();
    await expectOutageAnswers();
    // No REDIS_URL here, so no shared cache to serve from: out of rotation (with Redis answering
    // it would be 200 `degraded`, see database-down.e2e-spec.ts).
    const ready = await fetch(`${api.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: { database: { status: 'down' } } });
    expect(logLines(api, 'database unreachable')).toHaveLength(1);

    proxy.thaw();
    await eventually(() => logLines(api, 'database reachable again').length === 1, {
      timeoutMs: 15_000,
      what: 'the log to say the database is back',
    });
    await expectServing();
  });

  it('answers 503 with Retry-After while connections are refused, and recovers', async () => {
    await proxy.cut();
    await expectOutageAnswers();
    expect(logLines(api, 'database unreachable')).toHaveLength(2);

    await proxy.open();
    await expectServing();
    await eventually(() => logLines(api, 'database reachable again').length === 2, {
      timeoutMs: 15_000,
      what: 'the log to say the database is back',
    });
  });

  it('logged the outages as state changes, without a stack trace or a failed request', () => {
    const log = api.output.join('\n');
    expect(logLines(api, 'database unreachable')).toHaveLength(2);
    expect(log).not.toContain('"msg":"request failed"');
    expect(log).not.toContain('query failed');
    expect(log).not.toMatch(/\n\s+at /);
    expect(log).not.toContain('"stack"');
  });
});

import { connect, type Socket } from 'node:net';
import { expectProblem, LinksClient, type Problem } from '../support/http';
import { useTestApi } from '../support/suite';

jest.setTimeout(60_000);

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const KEEP_ALIVE_TIMEOUT_MS = 3000;
/** Node checks the timeouts every quarter of the shorter one; this covers that and a slow CI. */
const MARGIN_MS = 1500;

/** A raw connection to the api, with what it received and when it closed. */
interface RawClient {
  readonly socket: Socket;
  readonly received: () => string;
  /** Resolves with the milliseconds from connecting to the connection closing. */
  readonly closed: Promise<number>;
  readonly isClosed: () => boolean;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((done, fail) => {
    socket.once('connect', done);
    socket.once('error', fail);
  });
  const opened = Date.now();
  let text = '';
  let isClosed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((done) =>
    socket.once('close', () => {
      isClosed = true;
      done(Date.now() - opened);
    }),
  );
  return { socket, received: () => text, closed, isClosed: () => isClosed };
}

/** Writes `text` one character every `everyMs` until the connection closes or it is all sent. */
function trickle(client: RawClient, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (client.isClosed() || at >= text.length) {
      clearInterval(timer);
      return;
    }
    client.socket.write(text[at++] ?? '');
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

/** Resolves with the milliseconds until `client` closed, or rejects after `boundMs`. */
async function closedWithin(client: RawClient, boundMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.closed,
      new Promise<number>((_, fail) => {
        timer = setTimeout(() => {
          client.socket.destroy();
          fail(new Error(`still open after ${boundMs} ms; received: ${client.received()}`));
        }, boundMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('hostile clients', () => {
  const { api } = useTestApi({
    env: {
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    },
  });
  const post = (body: string | Buffer): Promise<Response> =>
    fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it('answers a client that sends its body slowly with 408 and closes, within the request timeout', async () => {
    const client = await rawClient(api.url);
    client.socket.write(
      'POST /api/v1/links HTTP/1.1\r\nHost: snip\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n',
    );
    trickle(client, `{"url":"https://example.com/${'s'.repeat(100)}`, 300);
    const ms = await closedWithin(client, REQUEST_TIMEOUT_MS + MARGIN_MS);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a client that sends its headers slowly, within the headers timeout', async () => {
    const client = await rawClient(api.url);
    client.socket.write('GET /health/live HTTP/1.1\r\nHost: snip\r\n');
    trickle(client, `X-Slow: ${'h'.repeat(100)}\r\n\r\n`, 300);
    const ms = await closedWithin(client, HEADERS_TIMEOUT_MS + MARGIN_MS);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(client.received()).not.toMatch(/^HTTP\/1\.1 200 /);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout, not the headers timeout', async () => {
    const client = await rawClient(api.url);
    client.socket.write('GET /health/live HTTP/1.1\r\nHost: snip\r\n\r\n');
    // Node 24 and later keep an idle connection 1 s past keepAliveTimeout (keepAliveTimeoutBuffer).
    const ms = await closedWithin(client, KEEP_ALIVE_TIMEOUT_MS + 1000 + MARGIN_MS);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    // Idle is not "slow headers": the connection outlives the headers timeout.
    expect(ms).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
  });

  it('answers a 2 MiB body with the 413 problem, never a socket error, 20 times', async () => {
    const body = JSON.stringify({ url: `https://example.com/${'a'.repeat(2 * 1024 * 1024)}` });
    for (let i = 0; i < 20; i++) {
      await expectProblem(await post(body), 413, 'PAYLOAD_TOO_LARGE');
    }
    // The same without a Content-Length: the limit is found while the body streams in.
    for (let i = 0; i < 5; i++) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let chunk = 0; chunk < 32; chunk++) controller.enqueue(new Uint8Array(65_536));
          controller.close();
        },
      });
      const res = await fetch(`${api.url}/api/v1/links`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      });
      await expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('refuses JSON nested 2,000 levels deep as 400 JSON_TOO_DEEP before validation', async () => {
    const arrays = `{"url":${'['.repeat(2000)}${']'.repeat(2000)}}`;
    const objects = `{"url":"https://example.com/","alias":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`;
    for (const body of [arrays, objects]) {
      const problem = await expectProblem(await post(body), 400, 'JSON_TOO_DEEP');
      expect(problem.detail).toMatch(/32 levels/);
    }
    // Brackets inside strings are text, not nesting.
    const res = await post(JSON.stringify({ url: `https://example.com/${'['.repeat(100)}` }));
    expect(res.status).toBe(201);
    expect(api.output.join('\n')).not.toMatch(/request failed|Maximum call stack/);
  });

  it('refuses a body that is not UTF-8 instead of storing U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from('{"url":"https://example.com/'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const problem = await expectProblem(await post(body), 400, 'MALFORMED_JSON');
    expect(problem.detail).toMatch(/UTF-8/);
    const links = new LinksClient(api.url);
    const link = await links.create({ url: 'https://example.com/bücher' });
    expect(link.url).toBe('https://example.com/b%C3%BCcher');
  });

  it('lists at most 20 validation errors and counts the rest', async () => {
    const body: Record<string, unknown> = { url: 'https://example.com/keys' };
    for (let i = 0; i < 2000; i++) body[i.toString(36)] = 0;
    const text = JSON.stringify(body);
    expect(text.length).toBeLessThan(16 * 1024);
    const res = await post(text);
    const problem: Problem = await expectProblem(res.clone(), 400, 'VALIDATION_FAILED');
    expect(problem.errors).toHaveLength(20);
    expect(problem).toMatchObject({ errorsTruncated: true, errorCount: 2000 });
    expect((await res.text()).length).toBeLessThan(8 * 1024);
  });

  it('still serves afterwards', async () => {
    expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/after' });
    expect((await fetch(`${api.url}/${link.code}`, { redirect: 'manual' })).status).toBe(302);
  });
});

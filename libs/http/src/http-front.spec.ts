import type { IncomingMessage, ServerResponse } from 'node:http';
import fastify from 'fastify';
import pino from 'pino';
import { HttpFront, requestIdOf, type HttpFrontOptions } from './http-front';
import { httpRequestDuration } from '@app/observability';

/** The JSON lines a logger wrote. */
function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const front = (options: Partial<HttpFrontOptions> = {}): HttpFront =>
  new HttpFront({ logger: capturedLogger().logger, ...options });

/** Just what clientIp and requestIdOf read of a request. */
const fakeRequest = (remoteAddress: string, headers: Record<string, unknown> = {}) =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('HttpFront.isFixedPath', () => {
  it('knows the parameterless routes added, and nothing else', () => {
    const http = front();
    for (const url of ['/metrics', '/health/live', '/docs-json', '/:code', '/files/*']) {
      http.addRoute(url);
    }
    http.addRoute('/api/v1/links/:code');
    expect(http.isFixedPath('/metrics')).toBe(true);
    expect(http.isFixedPath('/health/live')).toBe(true);
    expect(http.isFixedPath('/docs-json')).toBe(true);
    expect(http.isFixedPath('/:code')).toBe(false);
    expect(http.isFixedPath('/files/*')).toBe(false);
    expect(http.isFixedPath('/api/v1/links/:code')).toBe(false);
    // Paths are not patterns: a concrete path a template would match is not fixed.
    expect(http.isFixedPath('/abc')).toBe(false);
    expect(http.isFixedPath('/files/x')).toBe(false);
    expect(http.isFixedPath('/metrics/')).toBe(false);
    expect(http.isFixedPath('/Metrics')).toBe(false);
  });

  it('knows no path before any route is added', () => {
    expect(front().isFixedPath('/metrics')).toBe(false);
  });
});

describe('HttpFront.clientIp', () => {
  it('is the socket address without trusted proxies, whatever X-Forwarded-For says', () => {
    const request = fakeRequest('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' });
    expect(front().clientIp(request)).toBe('127.0.0.1');
    expect(front({ trustedProxies: [] }).clientIp(request)).toBe('127.0.0.1');
  });

  it('believes X-Forwarded-For from a trusted proxy', () => {
    const http = front({ trustedProxies: ['127.0.0.1/32'] });
    expect(http.clientIp(fakeRequest('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }))).toBe(
      '203.0.113.7',
    );
    // Without the header, the proxy itself is the client.
    expect(http.clientIp(fakeRequest('127.0.0.1'))).toBe('127.0.0.1');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const http = front({ trustedProxies: ['127.0.0.1/32'] });
    expect(http.clientIp(fakeRequest('198.51.100.9', { 'x-forwarded-for': '203.0.113.7' }))).toBe(
      '198.51.100.9',
    );
  });

  it('stops at the first address not trusted, so a client cannot forge earlier hops', () => {
    const http = front({ trustedProxies: ['127.0.0.1/32', '10.0.0.0/8'] });
    expect(
      http.clientIp(
        fakeRequest('127.0.0.1', { 'x-forwarded-for': '192.0.2.1, 203.0.113.7, 10.1.2.3' }),
      ),
    ).toBe('203.0.113.7');
  });

  describe('agrees with Fastify request.ip under the same trustProxy', () => {
    const cases: [string, string[], string, string | undefined][] = [
      ['no proxies', [], '127.0.0.1', '203.0.113.7'],
      ['a trusted peer', ['127.0.0.1/32'], '127.0.0.1', '203.0.113.7'],
      ['an untrusted peer', ['127.0.0.1/32'], '198.51.100.9', '203.0.113.7'],
      ['a chain', ['127.0.0.1/32', '10.0.0.0/8'], '127.0.0.1', '192.0.2.1, 203.0.113.7, 10.1.2.3'],
      ['an all-trusted chain', ['127.0.0.1/32', '10.0.0.0/8'], '127.0.0.1', '10.9.9.9, 10.1.2.3'],
      ['no header', ['127.0.0.1/32'], '127.0.0.1', undefined],
      ['IPv6', ['::1/128'], '::1', '2001:db8::7'],
    ];
    it.each(cases)('%s', async (_name, proxies, peer, forwarded) => {
      const app = fastify({ trustProxy: proxies.length > 0 ? proxies : false });
      app.get('/', (request, reply) => reply.send(request.ip));
      try {
        const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
        const res = await app.inject({ url: '/', remoteAddress: peer, headers });
        expect(res.statusCode).toBe(200);
        expect(front({ trustedProxies: proxies }).clientIp(fakeRequest(peer, headers))).toBe(
          res.body,
        );
      } finally {
        await app.close();
      }
    });
  });
});

describe('requestIdOf', () => {
  it('keeps a well-formed client x-request-id', () => {
    for (const id of ['abc', 'A.b_c:d-0', 'x'.repeat(128), '0']) {
      expect(requestIdOf(fakeRequest('127.0.0.1', { 'x-request-id': id }))).toBe(id);
    }
  });

  it('replaces a missing, malformed or over-long one with a fresh UUID', () => {
    const ids = [undefined, '', 'has space', 'a/b', 'é', 'x'.repeat(129), 'ok\n', ['a', 'b']].map(
      (id) => requestIdOf(fakeRequest('127.0.0.1', id === undefined ? {} : { 'x-request-id': id })),
    );
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('HttpFront.listener', () => {
  const request = fakeRequest('127.0.0.1');
  const response = {} as ServerResponse;

  it('hands every request to Fastify without a front handler', () => {
    const fastifyHandler = jest.fn();
    front().listener(fastifyHandler)(request, response);
    expect(fastifyHandler).toHaveBeenCalledTimes(1);
    expect(fastifyHandler).toHaveBeenCalledWith(request, response);
  });

  it('offers each request to the front handler first, and to Fastify when it declines', () => {
    const http = front();
    const calls: string[] = [];
    http.use((req, res) => {
      expect([req, res]).toEqual([request, response]);
      calls.push('front');
      return false;
    });
    http.listener((req, res) => {
      expect([req, res]).toEqual([request, response]);
      calls.push('fastify');
    })(request, response);
    expect(calls).toEqual(['front', 'fastify']);
  });

  it('keeps a request from Fastify when the front handler answered it', () => {
    const http = front();
    const frontHandler = jest.fn(() => true);
    const fastifyHandler = jest.fn();
    http.use(frontHandler);
    const listener = http.listener(fastifyHandler);
    listener(request, response);
    listener(request, response);
    expect(frontHandler).toHaveBeenCalledTimes(2);
    expect(fastifyHandler).not.toHaveBeenCalled();
  });

  it('decides per request', () => {
    const http = front();
    const fastifyHandler = jest.fn();
    const answered = new Set(['/a']);
    http.use((req) => answered.has(req.url ?? ''));
    const listener = http.listener(fastifyHandler);
    const a = { ...request, url: '/a' } as IncomingMessage;
    const b = { ...request, url: '/b' } as IncomingMessage;
    listener(a, response);
    listener(b, response);
    expect(fastifyHandler.mock.calls).toEqual([[b, response]]);
  });
});

describe('HttpFront.observe', () => {
  afterEach(() => httpRequestDuration().reset());

  const countOf = async (labels: Record<string, string>): Promise<number | undefined> => {
    const { values } = await httpRequestDuration().get();
    return values.find(
      (v) =>
        v.metricName === 'http_request_duration_seconds_count' &&
        Object.entries(labels).every(([k, value]) => v.labels[k] === value),
    )?.value;
  };

  it('times the request by method, route template and status, and logs it', async () => {
    const { logger, lines } = capturedLogger();
    const http = new HttpFront({ logger });
    http.observe('GET', '/:code', 302, '/abc?utm=1', 'req-1', 1.23456);
    http.observe('GET', '/:code', 302, '/def', 'req-2', 2);
    http.observe('HEAD', '/:code', 404, '/nope', 'req-3', 0.5);

    expect(await countOf({ method: 'GET', route: '/:code', status_code: '302' })).toBe(2);
    expect(await countOf({ method: 'HEAD', route: '/:code', status_code: '404' })).toBe(1);
    const { values } = await httpRequestDuration().get();
    const sum = values.find(
      (v) =>
        v.metricName === 'http_request_duration_seconds_sum' &&
        v.labels.method === 'GET' &&
        v.labels.status_code === '302',
    );
    expect(sum?.value).toBeCloseTo(0.00323456, 10);

    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      reqId: 'req-1',
      method: 'GET',
      route: '/:code',
      path: '/abc',
      status: 302,
      ms: 1.23,
    });
    expect(lines[2]).toMatchObject({ reqId: 'req-3', method: 'HEAD', status: 404, path: '/nope' });
  });

  it('leaves quiet routes and routes sampled at 0 out of the log, never out of the histogram', async () => {
    const { logger, lines } = capturedLogger();
    const http = new HttpFront({
      logger,
      quietRoutes: ['/metrics'],
      accessLogSampleRates: { '/:code': 0 },
    });
    http.observe('GET', '/metrics', 200, '/metrics', 'a', 1);
    http.observe('GET', '/:code', 302, '/abc', 'b', 1);
    http.observe('GET', '/api/v1/links', 200, '/api/v1/links', 'c', 1);

    expect(await countOf({ route: '/metrics', status_code: '200' })).toBe(1);
    expect(await countOf({ route: '/:code', status_code: '302' })).toBe(1);
    expect(lines.map((l) => l.reqId)).toEqual(['c']);
  });
});

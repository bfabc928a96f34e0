import { endToEnd, forwardHeaders } from './upstream';

describe('forwardHeaders', () => {
  it('appends the peer to X-Forwarded-For and sets proto, host and the request id', () => {
    expect(
      forwardHeaders(
        { host: 'go.example', accept: '*/*', 'x-request-id': 'client-id' },
        { peer: '192.0.2.1', requestId: 'abc' },
      ),
    ).toEqual({
      host: 'go.example',
      accept: '*/*',
      'x-forwarded-for': '192.0.2.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'go.example',
      'x-request-id': 'abc',
    });
  });

  it('keeps the chain a proxy in front of the edge wrote, and its proto and host', () => {
    const headers = forwardHeaders(
      {
        host: 'edge.internal:3002',
        'x-forwarded-for': '203.0.113.7, 10.0.0.2',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'go.example',
      },
      { peer: '10.0.0.3', requestId: 'r' },
    );
    expect(headers['x-forwarded-for']).toBe('203.0.113.7, 10.0.0.2, 10.0.0.3');
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(headers['x-forwarded-host']).toBe('go.example');
  });

  it('drops hop-by-hop headers, those Connection names included', () => {
    const headers = forwardHeaders(
      {
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        'x-secret-hop': '1',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        upgrade: 'websocket',
        'content-type': 'application/json',
        'content-length': '12',
      },
      { peer: undefined, requestId: 'r' },
    );
    expect(headers).toEqual({
      'content-type': 'application/json',
      'content-length': '12',
      'x-forwarded-proto': 'http',
      'x-request-id': 'r',
    });
  });
});

describe('endToEnd', () => {
  it("keeps a response's repeated headers (Set-Cookie) and drops its hop-by-hop ones", () => {
    expect(
      endToEnd({
        'set-cookie': ['a=1', 'b=2'],
        connection: 'close',
        'transfer-encoding': 'chunked',
        location: 'https://example.com/',
      }),
    ).toEqual({ 'set-cookie': ['a=1', 'b=2'], location: 'https://example.com/' });
  });
});

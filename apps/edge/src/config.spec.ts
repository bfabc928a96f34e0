import { ConfigError } from '@app/config';
import { loadEdgeConfig } from './config';

const base = {
  SNIP_PROFILE: 'test',
  REDIS_URL: 'redis://127.0.0.1:6379',
  CLICKS_TRANSPORT: 'redis-streams',
};

describe('loadEdgeConfig', () => {
  it('defaults to port 3002 in front of the api on 3000, with bounded waits', () => {
    const config = loadEdgeConfig(base);
    expect(config.edge).toEqual({
      port: 3002,
      upstreamUrl: 'http://127.0.0.1:3000',
      upstreamConnectTimeoutMs: 1000,
      upstreamTimeoutMs: 10_000,
      upstreamMaxSockets: 256,
    });
  });

  it('refuses the inline transport, which stores clicks in the api process', () => {
    expect(() => loadEdgeConfig({ ...base, CLICKS_TRANSPORT: 'inline' })).toThrow(ConfigError);
    expect(() => loadEdgeConfig({ ...base, CLICKS_TRANSPORT: 'inline' })).toThrow(
      /CLICKS_TRANSPORT.*redis-streams or rmq/,
    );
  });

  it('needs REDIS_URL, where the api caches the links', () => {
    expect(() => loadEdgeConfig({ ...base, REDIS_URL: '' })).toThrow(/REDIS_URL/);
  });

  it('needs no SHORT_CODE_SECRET or DATABASE_URL in production', () => {
    const config = loadEdgeConfig({
      ...base,
      SNIP_PROFILE: 'production',
      EDGE_UPSTREAM_URL: 'http://api:3000',
    });
    expect(config.edge.upstreamUrl).toBe('http://api:3000');
  });

  it('refuses an upstream that is not an http(s) URL', () => {
    expect(() => loadEdgeConfig({ ...base, EDGE_UPSTREAM_URL: 'ftp://api' })).toThrow(
      /EDGE_UPSTREAM_URL/,
    );
  });
});

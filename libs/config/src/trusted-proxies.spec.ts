import { ConfigError, loadConfig } from './config';

const load = (env: Record<string, string>) =>
  loadConfig(
    { SNIP_PROFILE: 'test', SHORT_CODE_SECRET: 'spec-secret-0123456789', ...env },
    { configDir: '/nonexistent' },
  );

describe('TRUSTED_PROXIES and rate-limit settings', () => {
  it('accepts addresses and CIDR blocks of both families', () => {
    const config = load({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1 ,fd00::/8,::1' });
    expect(config.throttle.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1']);
  });

  it.each(['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x', '300.1.1.1'])(
    'refuses %s, naming the key',
    (value) => {
      expect(() => load({ TRUSTED_PROXIES: value })).toThrow(ConfigError);
      expect(() => load({ TRUSTED_PROXIES: value })).toThrow(/TRUSTED_PROXIES/);
    },
  );

  it('defaults to no trusted proxy, 600 per key, no redirect limit', () => {
    const { throttle, auth, cache } = load({});
    expect(throttle).toMatchObject({ trustedProxies: [], apiPerMinute: 600, redirectPerMinute: 0 });
    expect(auth.required).toBe(false);
    expect(cache).toMatchObject({ l1TtlMs: 5000, l2TtlSeconds: 86_400 });
  });
});

import { IpAnonymizer, truncateIp } from './ip-anonymizer';

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', 24, '203.0.113.0'],
    ['203.0.113.77', 16, '203.0.0.0'],
    ['203.0.113.77', 32, '203.0.113.77'],
    ['203.0.113.77', 0, '0.0.0.0'],
    ['::ffff:203.0.113.77', 24, '203.0.113.0'],
  ])('IPv4 %s /%i -> %s', (ip, bits, expected) => {
    expect(truncateIp(ip, bits, 48)).toBe(expected);
  });

  it.each([
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', 48, '2001:db8:85a3::'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', 56, '2001:db8:85a3:800::'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', 128, '2001:db8::1'],
    ['fe80::1%eth0', 64, 'fe80::'],
    ['::1', 48, '::'],
    ['64:ff9b::192.0.2.33', 128, '64:ff9b::c000:221'],
    ['2001:db8:0:1:1:1:1:1', 128, '2001:db8:0:1:1:1:1:1'],
  ])('IPv6 %s /%i -> %s', (ip, bits, expected) => {
    expect(truncateIp(ip, 24, bits)).toBe(expected);
  });

  it('returns null for what is not an address', () => {
    expect(truncateIp('unknown', 24, 48)).toBeNull();
    expect(truncateIp('1.2.3', 24, 48)).toBeNull();
  });
});

describe('IpAnonymizer', () => {
  const base = { ipv4Prefix: 24, ipv6Prefix: 48 };

  it('truncates by default', () => {
    expect(new IpAnonymizer({ ...base, mode: 'truncate' }).anonymize('198.51.100.9')).toBe(
      '198.51.100.0',
    );
  });

  it('hashes with a key: stable per address, different per key, no address left', () => {
    const a = new IpAnonymizer({ ...base, mode: 'hash', hashKey: 'k'.repeat(16) });
    const b = new IpAnonymizer({ ...base, mode: 'hash', hashKey: 'j'.repeat(16) });
    const hashed = a.anonymize('198.51.100.9');
    expect(hashed).toMatch(/^h:[A-Za-z0-9_-]{22}$/);
    expect(a.anonymize('198.51.100.9')).toBe(hashed);
    expect(b.anonymize('198.51.100.9')).not.toBe(hashed);
    expect(a.anonymize('198.51.100.10')).not.toBe(hashed);
  });

  it('needs a key to hash', () => {
    expect(() => new IpAnonymizer({ ...base, mode: 'hash' })).toThrow(/key/);
  });

  it('drops, or keeps raw only when asked', () => {
    expect(new IpAnonymizer({ ...base, mode: 'drop' }).anonymize('198.51.100.9')).toBeNull();
    expect(new IpAnonymizer({ ...base, mode: 'raw' }).anonymize('198.51.100.9')).toBe(
      '198.51.100.9',
    );
    expect(new IpAnonymizer({ ...base, mode: 'truncate' }).anonymize(undefined)).toBeNull();
  });
});

import { IpAnonymizer } from './ip-anonymizer';

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

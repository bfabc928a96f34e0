import { createHash } from 'node:crypto';
import {
  ANONYMOUS_ADMIN,
  generateApiKey,
  hashApiKey,
  hasRole,
  isUsable,
  looksLikeApiKey,
} from './api-key';

describe('API keys', () => {
  it('are 256 random bits behind a recognisable prefix, stored as their SHA-256', () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^snip_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(5), 'base64url')).toHaveLength(32);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hash).not.toContain(key.slice(5));
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix).toHaveLength(12);
  });

  it('never repeat', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });

  it('hash the same way every time', () => {
    expect(hashApiKey('snip_x')).toBe(hashApiKey('snip_x'));
    expect(hashApiKey('snip_x')).not.toBe(hashApiKey('snip_y'));
  });

  it('refuse what cannot be a key before any lookup', () => {
    expect(looksLikeApiKey(generateApiKey().key)).toBe(true);
    expect(looksLikeApiKey('')).toBe(false);
    expect(looksLikeApiKey('Bearer abc')).toBe(false);
    expect(looksLikeApiKey(`snip_${'a'.repeat(42)}`)).toBe(false);
    expect(looksLikeApiKey(`snip_${'a'.repeat(43)}\n`)).toBe(false);
  });

  it('stop working once revoked or expired', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const later = new Date('2030-01-02T00:00:00Z');
    const earlier = new Date('2029-12-31T00:00:00Z');
    expect(isUsable({ expiresAt: null, revokedAt: null }, now)).toBe(true);
    expect(isUsable({ expiresAt: later, revokedAt: null }, now)).toBe(true);
    expect(isUsable({ expiresAt: earlier, revokedAt: null }, now)).toBe(false);
    expect(isUsable({ expiresAt: now, revokedAt: null }, now)).toBe(false);
    expect(isUsable({ expiresAt: null, revokedAt: earlier }, now)).toBe(false);
  });

  it('let admin through every route and user only where allowed', () => {
    const user = { keyId: 'k', role: 'user' } as const;
    const admin = { keyId: 'a', role: 'admin' } as const;
    expect(hasRole(admin, ['admin'])).toBe(true);
    expect(hasRole(user, ['admin'])).toBe(false);
    expect(hasRole(user, ['user'])).toBe(true);
    expect(hasRole(ANONYMOUS_ADMIN, ['admin'])).toBe(true);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey, ApiKeyRole } from './api-key.entity';
import type { LinkScope } from '@app/links';

const KEY_PREFIX = 'snip_';
/** 32 random bytes: 256 bits, base64url-encoded. */
const KEY_BYTES = 32;
const KEY_PATTERN = /^snip_[A-Za-z0-9_-]{43}$/;
const SHOWN_PREFIX_LENGTH = 12;

/** Who is calling the API: a key, or (only when AUTH_REQUIRED is false) anyone, as admin. */
export interface Principal {
  /** The key's id; null for a request without a key where none is required. */
  readonly keyId: string | null;
  readonly role: ApiKeyRole;
}

export const ANONYMOUS_ADMIN: Principal = { keyId: null, role: 'admin' };

/** A new random key, such as `snip_3q2-...`, and what is stored of it. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH) };
}

/** Hex SHA-256. Keys are 256-bit random, so a fast hash is enough (nothing to brute-force). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether `key` could be one snip issued; anything else is refused without a database read. */
export function looksLikeApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Whether a stored key still grants access at `now`. */
export function isUsable(key: Pick<ApiKey, 'expiresAt' | 'revokedAt'>, now: Date): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

/** Whether `principal` may use a route open to `roles` (admin may use every route). */
export function hasRole(principal: Principal, roles: readonly ApiKeyRole[]): boolean {
  return principal.role === 'admin' || roles.includes(principal.role);
}

/** The links a principal may see and change: a user key its own, an admin every one. */
export const scopeOf = (principal: Principal): LinkScope =>
  principal.role === 'user' && principal.keyId !== null ? { ownerKeyId: principal.keyId } : {};

import { createHmac } from 'node:crypto';

/**
 * A visitor of one UTC day: the first 8 bytes (16 hex characters) of
 * HMAC-SHA256(key = that day's salt, message = anonymised address + '\n' + user agent).
 *
 * The salt is random, one per UTC day, and deleted once the day is past the window for late
 * events (VisitorSalts), so an id can be neither reversed nor recomputed afterwards, and the same
 * person gets an unrelated id the next day: no identifier lives longer than a day (Plausible's
 * scheme). A missing address or user agent hashes as the empty string, so clients with neither
 * share one visitor per link and day instead of each counting as a new one (decision 51).
 */
export function visitorId(salt: Buffer, ip: string | null, userAgent: string | null): string {
  return createHmac('sha256', salt)
    .update(`${ip ?? ''}\n${userAgent ?? ''}`)
    .digest()
    .subarray(0, 8)
    .toString('hex');
}

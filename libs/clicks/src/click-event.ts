import type { IncomingHttpHeaders } from 'node:http';
import { oncePerMillisecond, uuidv7, uuidv7Time, UUID_V7_PATTERN } from './uuidv7';

/** The Nest message pattern click events travel under, whatever the transport. */
export const CLICK_PATTERN = 'click';

/** Version 1 of the click event: what the redirect knew when it answered. */
export interface ClickEvent {
  readonly v: 1;
  /** UUIDv7 made at the redirect: the idempotency key, and its time is the click's time. */
  readonly id: string;
  /** The link's id (bigint, as a decimal string). */
  readonly linkId: string;
  readonly code: string;
  /** ISO 8601 UTC, the same millisecond as the id's timestamp. */
  readonly ts: string;
  readonly method: 'GET' | 'HEAD';
  /** Already anonymised per CLICKS_IP_MODE (never the raw address by default), or null. */
  readonly ip: string | null;
  readonly ua: string | null;
  readonly referrer: string | null;
  readonly lang: string | null;
}

/** What the redirect passes about the request that clicked. */
export interface ClickVisitor {
  readonly method: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly referrer?: string;
  readonly acceptLanguage?: string;
}

/** The visitor of a request: its method, its client address (already resolved), its headers. */
export function clickVisitor(
  method: string,
  ip: string | undefined,
  headers: IncomingHttpHeaders,
): ClickVisitor {
  return {
    method,
    ip,
    userAgent: headers['user-agent'],
    referrer: headers.referer,
    acceptLanguage: headers['accept-language'],
  };
}

const CLICK_LIMITS = {
  code: 64,
  ip: 64,
  ua: 512,
  referrer: 2048,
  lang: 256,
} as const;

const clip = (value: string | undefined, max: number): string | null =>
  value === undefined || value === '' ? null : value.length > max ? value.slice(0, max) : value;

const isoTime = oncePerMillisecond((ms) => new Date(ms).toISOString());

/** Builds the event for a redirect of `link` at `at`; `ip` must already be anonymised. */
export function createClickEvent(
  link: { readonly id: string; readonly code: string },
  visitor: ClickVisitor,
  ip: string | null,
  at: Date = new Date(),
): ClickEvent {
  const ms = at.getTime();
  return {
    v: 1,
    id: uuidv7(ms),
    linkId: link.id,
    code: link.code,
    ts: isoTime(ms),
    method: visitor.method === 'HEAD' ? 'HEAD' : 'GET',
    ip: ip === null ? null : clip(ip, CLICK_LIMITS.ip),
    ua: clip(visitor.userAgent, CLICK_LIMITS.ua),
    referrer: clip(visitor.referrer, CLICK_LIMITS.referrer),
    lang: clip(visitor.acceptLanguage, CLICK_LIMITS.lang),
  };
}

export type ClickValidation =
  | { readonly ok: true; readonly event: ClickEvent }
  | { readonly ok: false; readonly reason: string };

const LINK_ID = /^[1-9]\d{0,18}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function optionalString(value: unknown, max: number): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= max);
}

/**
 * Checks that `value` is a well-formed v1 event, as it arrives from a broker: anything else goes to
 * the dead letter with the reason. Returns a fresh object with only the known fields.
 */
export function validateClickEvent(value: unknown): ClickValidation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not an object' };
  }
  const e = value as Record<string, unknown>;
  if (e.v !== 1) return { ok: false, reason: `unsupported version ${JSON.stringify(e.v) ?? ''}` };
  if (typeof e.id !== 'string' || !UUID_V7_PATTERN.test(e.id)) {
    return { ok: false, reason: 'id is not a UUIDv7' };
  }
  if (typeof e.linkId !== 'string' || !LINK_ID.test(e.linkId)) {
    return { ok: false, reason: 'linkId is not a positive integer string' };
  }
  if (typeof e.code !== 'string' || e.code.length === 0 || e.code.length > CLICK_LIMITS.code) {
    return { ok: false, reason: 'code is missing or too long' };
  }
  if (typeof e.ts !== 'string' || !ISO_UTC.test(e.ts) || Date.parse(e.ts) !== uuidv7Time(e.id)) {
    return { ok: false, reason: "ts is not the id's time as ISO 8601 UTC" };
  }
  if (e.method !== 'GET' && e.method !== 'HEAD') return { ok: false, reason: 'method' };
  if (!optionalString(e.ip, CLICK_LIMITS.ip)) return { ok: false, reason: 'ip' };
  if (!optionalString(e.ua, CLICK_LIMITS.ua)) return { ok: false, reason: 'ua' };
  if (!optionalString(e.referrer, CLICK_LIMITS.referrer)) return { ok: false, reason: 'referrer' };
  if (!optionalString(e.lang, CLICK_LIMITS.lang)) return { ok: false, reason: 'lang' };
  return {
    ok: true,
    event: {
      v: 1,
      id: e.id,
      linkId: e.linkId,
      code: e.code,
      ts: e.ts,
      method: e.method,
      ip: e.ip,
      ua: e.ua,
      referrer: e.referrer,
      lang: e.lang,
    },
  };
}

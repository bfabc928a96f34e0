import { Injectable } from '@nestjs/common';
import {
  ThrottlerGuard,
  type ThrottlerGenerateKeyFunction,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { DomainError, truncateIp } from '@app/core';
import type { RateLimitRecord } from './redis-throttler.storage';

const rateLimited = (retryAfterSeconds: number): DomainError =>
  new DomainError('RATE_LIMITED', `Rate limit reached; retry in ${retryAfterSeconds} s.`, {
    retryAfter: retryAfterSeconds,
  });

/** How much of an IPv6 address one client is assumed to control: a /64 is one subscriber's LAN. */
const IPV6_CLIENT_PREFIX = 64;

/**
 * The per-IP tracker of a client address. An IPv4 address counts as itself; an IPv6 address counts
 * as its /64, since one subscriber is usually given a whole /64 and could otherwise walk through
 * 2^64 addresses, each with a fresh budget. An IPv4-mapped IPv6 address counts as the IPv4 one.
 */
export function ipTracker(ip: string | undefined): string {
  if (!ip) return 'ip:unknown';
  const network = truncateIp(ip, 32, IPV6_CLIENT_PREFIX);
  if (network === null) return `ip:${ip}`;
  return network.includes(':') ? `ip:${network}/${IPV6_CLIENT_PREFIX}` : `ip:${network}`;
}

/**
 * Whether `ip` is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6): a client on
 * the same machine, which RATE_LIMIT_EXEMPT_LOOPBACK (the local profile) does not limit.
 */
export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.toLowerCase().startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
  return v4.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/**
 * What one hit means: the IETF RateLimit headers (and Retry-After when blocked) to answer with, and
 * the RATE_LIMITED error to answer when the hit is over the limit.
 */
export function rateLimitOutcome(
  limit: number,
  record: RateLimitRecord,
): { readonly headers: Readonly<Record<string, string>>; readonly error?: DomainError } {
  const reset = record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
  const headers: Record<string, string> = {
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(Math.max(0, limit - record.totalHits)),
    'ratelimit-reset': String(reset),
  };
  if (!record.isBlocked) return { headers };
  headers['retry-after'] = String(reset);
  return { headers, error: rateLimited(reset) };
}

/** Writes `rateLimitOutcome`'s headers on `reply`; returns the error to throw, if any. */
export function applyRateLimit(
  reply: FastifyReply,
  limit: number,
  record: RateLimitRecord,
): DomainError | undefined {
  const { headers, error } = rateLimitOutcome(limit, record);
  for (const name in headers) void reply.header(name, headers[name]);
  return error;
}

/** One counter per tracker and throttler, whatever the route: one budget across the API. */
export const trackerKey: ThrottlerGenerateKeyFunction = (_context, tracker) => tracker;

/** Counts hits one at a time against `limit` per `ttlMs`, in the given storage. */
export async function hit(
  storage: ThrottlerStorage,
  name: string,
  tracker: string,
  limit: number,
  ttlMs: number,
): Promise<RateLimitRecord> {
  return storage.increment(tracker, ttlMs, limit, ttlMs, name);
}

/**
 * @nestjs/throttler's guard with snip's answers: RateLimit-* headers, 429 as problem+json with
 * Retry-After, and a limit of 0 meaning "no limit".
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = request;
    if (limit <= 0) return true;
    const { req, res } = this.getRequestResponse(context) as {
      req: Record<string, unknown>;
      res: FastifyReply;
    };
    const tracker = await getTracker(req, context);
    const key = generateKey(context, tracker, throttler.name ?? 'default');
    const record = await this.storageService.increment(
      key,
      ttl,
      limit,
      blockDuration,
      throttler.name ?? 'default',
    );
    const error = applyRateLimit(res, limit, record);
    if (error) throw error;
    return true;
  }
}

import type { FastifyReply } from 'fastify';
import { applyRateLimit, ipTracker, isLoopback } from './rate-limit';

function fakeReply() {
  const headers: Record<string, unknown> = {};
  const reply = {
    header(name: string, value: unknown) {
      headers[name] = value;
      return reply;
    },
  };
  return { reply: reply as unknown as FastifyReply, headers };
}

describe('applyRateLimit', () => {
  it('writes the RateLimit headers and lets a hit under the limit through', () => {
    const { reply, headers } = fakeReply();
    const error = applyRateLimit(reply, 10, {
      totalHits: 3,
      timeToExpire: 42,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(error).toBeUndefined();
    expect(headers).toEqual({
      'ratelimit-limit': '10',
      'ratelimit-remaining': '7',
      'ratelimit-reset': '42',
    });
  });

  it('answers a blocked hit with RATE_LIMITED, Retry-After and the block as the reset', () => {
    const { reply, headers } = fakeReply();
    const error = applyRateLimit(reply, 10, {
      totalHits: 11,
      timeToExpire: 30,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    expect(error).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      extensions: { retryAfter: 60 },
    });
    expect(headers).toEqual({
      'ratelimit-limit': '10',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '60',
      'retry-after': '60',
    });
  });
});

describe('ipTracker', () => {
  it.each([
    ['203.0.113.7', 'ip:203.0.113.7'],
    ['::ffff:203.0.113.7', 'ip:203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', 'ip:2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', 'ip:2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', 'ip:2001:db8:1:2::/64'],
    ['::1', 'ip:::/64'],
    ['not-an-ip', 'ip:not-an-ip'],
    [undefined, 'ip:unknown'],
  ])('%s counts as %s', (ip, tracker) => {
    expect(ipTracker(ip)).toBe(tracker);
  });

  it('gives two addresses of one /64 one budget and the next /64 another', () => {
    expect(ipTracker('2001:db8:0:1::a')).toBe(ipTracker('2001:db8:0:1:9999::b'));
    expect(ipTracker('2001:db8:0:1::a')).not.toBe(ipTracker('2001:db8:0:2::a'));
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['2001:db8::1', false],
    ['1127.0.0.1', false],
    [undefined, false],
  ])('%s: %s', (ip, loopback) => {
    expect(isLoopback(ip)).toBe(loopback);
  });
});

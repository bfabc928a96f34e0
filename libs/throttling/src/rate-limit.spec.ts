import type { FastifyReply } from 'fastify';
import { applyRateLimit } from './rate-limit';

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
      'ratelimit-limit': 10,
      'ratelimit-remaining': 7,
      'ratelimit-reset': 42,
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
      'ratelimit-limit': 10,
      'ratelimit-remaining': 0,
      'ratelimit-reset': 60,
      'retry-after': 60,
    });
  });
});

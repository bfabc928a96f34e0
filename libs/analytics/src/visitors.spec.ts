import { randomBytes } from 'node:crypto';
import { visitorId } from './visitors';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';

describe('visitorId', () => {
  const monday = randomBytes(32);
  const tuesday = randomBytes(32);

  it('gives the same address and user agent on the same day the same 16 hex characters', () => {
    const id = visitorId(monday, '203.0.113.0', UA);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(visitorId(Buffer.from(monday), '203.0.113.0', UA)).toBe(id);
  });

  it('gives the same visitor another id on another day (another salt)', () => {
    expect(visitorId(tuesday, '203.0.113.0', UA)).not.toBe(visitorId(monday, '203.0.113.0', UA));
  });

  it('tells addresses and user agents apart', () => {
    const ids = new Set([
      visitorId(monday, '203.0.113.0', UA),
      visitorId(monday, '198.51.100.0', UA),
      visitorId(monday, '203.0.113.0', `${UA} Edg/125.0`),
      visitorId(monday, '203.0.113.0', null),
      visitorId(monday, null, UA),
    ]);
    expect(ids.size).toBe(5);
  });

  it('hashes a missing address or user agent as empty, so such clients share one id a day', () => {
    expect(visitorId(monday, null, null)).toBe(visitorId(monday, '', ''));
    expect(visitorId(monday, null, UA)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps nothing of the address or the user agent in the id', () => {
    const ip = '203.0.113.0';
    const id = visitorId(monday, ip, UA);
    for (const part of [ip, ip.replaceAll('.', ''), Buffer.from(ip).toString('hex'), 'firefox']) {
      expect(id.toLowerCase()).not.toContain(part.toLowerCase().slice(0, 8));
    }
  });
});

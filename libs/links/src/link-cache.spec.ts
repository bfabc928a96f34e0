import { linkCacheCodec, toRedirectTarget, type RedirectTarget } from './link-cache';

const link: RedirectTarget = {
  id: '7',
  code: 'abc',
  url: 'https://example.com/',
  redirectType: 302,
  expiresAt: new Date('2030-01-01T00:00:00Z'),
  disabled: false,
  updatedAt: new Date('2029-01-01T00:00:00Z'),
  maxClicks: 100,
};

/** Through JSON, as the document travels to Redis and back. */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('linkCacheCodec', () => {
  it('carries every field the redirect needs, maxClicks included', () => {
    expect(linkCacheCodec.decode(roundTrip(linkCacheCodec.encode(link)))).toEqual(link);
    const uncapped = { ...link, maxClicks: null, expiresAt: null };
    expect(linkCacheCodec.decode(roundTrip(linkCacheCodec.encode(uncapped)))).toEqual(uncapped);
  });

  it('reads a document from before visit caps (no maxClicks) as a link without a cap', () => {
    const old = { ...(linkCacheCodec.encode(link) as Record<string, unknown>) };
    delete old.maxClicks;
    expect(linkCacheCodec.decode(roundTrip(old))).toEqual({ ...link, maxClicks: null });
  });

  it.each([0, -3, 1.5, '100'])('reads a cap that is no positive integer (%j) as none', (bad) => {
    const doc = { ...(linkCacheCodec.encode(link) as object), maxClicks: bad };
    expect(linkCacheCodec.decode(roundTrip(doc)).maxClicks).toBeNull();
  });

  it('keeps only the redirect fields of a link', () => {
    const full = { ...link, clicks: 3, ownerKeyId: null, isCustom: false };
    expect(Object.keys(toRedirectTarget(full)).sort()).toEqual(Object.keys(link).sort());
  });
});

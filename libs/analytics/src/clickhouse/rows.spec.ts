import type { ClickRow } from '../enrichment';
import { toClickHouseRow, toReceipt } from './rows';

const row: ClickRow = {
  id: '0b9c3f3e-4f1a-4c61-9b4e-6f0a0e9a1c11',
  occurredAt: '2030-05-02T10:11:12.345Z',
  linkId: '9007199254740993',
  code: 'abc1234',
  method: 'GET',
  ip: '203.0.113.0',
  userAgent: 'Mozilla/5.0',
  referrer: 'https://news.example/item',
  referrerHost: 'news.example',
  acceptLanguage: 'en',
  country: 'GB',
  browser: 'Chrome',
  os: 'Windows',
  deviceType: 'desktop',
  isBot: true,
  visitorId: '0123456789abcdef',
};

describe('toClickHouseRow', () => {
  it('maps every column, the instant as seconds and milliseconds, the link id exactly', () => {
    expect(toClickHouseRow(row)).toEqual({
      id: row.id,
      occurred_at: Date.UTC(2030, 4, 2, 10, 11, 12) / 1000,
      occurred_ms: 345,
      // Beyond 2^53: kept as a string, never through a number.
      link_id: '9007199254740993',
      code: 'abc1234',
      method: 'GET',
      ip: '203.0.113.0',
      user_agent: 'Mozilla/5.0',
      referrer: 'https://news.example/item',
      referrer_host: 'news.example',
      accept_language: 'en',
      country: 'GB',
      browser: 'Chrome',
      os: 'Windows',
      device_type: 'desktop',
      is_bot: 1,
      visitor: '0123456789abcdef',
    });
  });

  it('keeps nulls and writes a human as 0', () => {
    const mapped = toClickHouseRow({ ...row, isBot: false, ip: null, referrerHost: null });
    expect(mapped).toMatchObject({ is_bot: 0, ip: null, referrer_host: null });
    expect(toClickHouseRow({ ...row, visitorId: null }).visitor).toBe('');
  });

  it('refuses an instant it cannot read', () => {
    expect(() => toClickHouseRow({ ...row, occurredAt: 'yesterday' })).toThrow(TypeError);
  });
});

describe('toReceipt', () => {
  it('keeps what the rollups and the visitor sets need and nulls every descriptive column', () => {
    expect(toReceipt(row)).toEqual({
      id: row.id,
      occurredAt: row.occurredAt,
      linkId: row.linkId,
      code: 'abc1234',
      method: 'GET',
      ip: null,
      userAgent: null,
      referrer: null,
      referrerHost: null,
      acceptLanguage: null,
      country: null,
      browser: null,
      os: null,
      deviceType: 'desktop',
      isBot: true,
      visitorId: '0123456789abcdef',
    });
  });
});

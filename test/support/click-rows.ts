import { randomBytes, randomUUID } from 'node:crypto';
import type { ClickRow } from '@app/analytics';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/**
 * A click as the worker stores it: a human Chrome visit of link 1 now, by a visitor of its own,
 * `overrides` on top.
 */
export function clickRow(overrides: Partial<ClickRow> = {}): ClickRow {
  return {
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    linkId: '1',
    code: 'abc1234',
    method: 'GET',
    ip: '203.0.113.0',
    userAgent: CHROME,
    referrer: 'https://news.example/item',
    referrerHost: 'news.example',
    acceptLanguage: 'en',
    country: 'GB',
    browser: 'Chrome',
    os: 'Windows',
    deviceType: 'desktop',
    isBot: false,
    visitorId: randomBytes(8).toString('hex'),
    ...overrides,
  };
}

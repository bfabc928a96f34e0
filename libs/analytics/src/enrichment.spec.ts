import { createClickEvent } from '@app/clicks';
import { ClickEnricher, referrerHost } from './enrichment';

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

const countries: Record<string, string> = { '81.2.69.0': 'GB' };
const enricher = new ClickEnricher((ip) => countries[ip] ?? null);
const link = { id: '7', code: 'abc' };

describe('ClickEnricher', () => {
  it('derives browser, OS, device, country and referrer host', () => {
    const row = enricher.enrich(
      createClickEvent(
        link,
        { method: 'GET', userAgent: SAFARI_IPHONE, referrer: 'https://News.Example.com/a?b' },
        '81.2.69.0',
      ),
    );
    expect(row).toMatchObject({
      linkId: '7',
      browser: 'Mobile Safari',
      os: 'iOS',
      deviceType: 'mobile',
      country: 'GB',
      referrerHost: 'news.example.com',
      isBot: false,
    });
  });

  it('calls a desktop browser a desktop', () => {
    const row = enricher.enrich(
      createClickEvent(link, { method: 'GET', userAgent: CHROME_WINDOWS }, null),
    );
    expect(row).toMatchObject({
      browser: 'Chrome',
      os: 'Windows',
      deviceType: 'desktop',
      isBot: false,
      country: null,
    });
  });

  it('flags crawlers, HEAD requests and clients without a user agent as bots', () => {
    expect(
      enricher.enrich(createClickEvent(link, { method: 'GET', userAgent: GOOGLEBOT }, null)).isBot,
    ).toBe(true);
    expect(
      enricher.enrich(createClickEvent(link, { method: 'HEAD', userAgent: CHROME_WINDOWS }, null))
        .isBot,
    ).toBe(true);
    const bare = enricher.enrich(createClickEvent(link, { method: 'GET' }, null));
    expect(bare).toMatchObject({ isBot: true, deviceType: 'unknown', browser: null });
  });

  it('looks no country up for a hashed address', () => {
    const row = enricher.enrich(
      createClickEvent(link, { method: 'GET' }, 'h:abcdefghijklmnopqrstuv'),
    );
    expect(row.country).toBeNull();
  });
});

describe('referrerHost', () => {
  it.each([
    ['https://www.example.com/x', 'www.example.com'],
    ['android-app://com.example.app/', 'com.example.app'],
    ['not a url', null],
    [null, null],
  ])('%s -> %s', (referrer, host) => {
    expect(referrerHost(referrer)).toBe(host);
  });
});

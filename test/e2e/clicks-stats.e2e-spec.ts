import { createLink } from '../support/clicks';
import { eventually } from '../support/eventually';
import { metric } from '../support/metrics';
import { spawnApi } from '../support/process';
import { useTestApi } from '../support/suite';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

interface Stats {
  totals: {
    clicks: number;
    humanClicks: number;
    botClicks: number;
    uniqueVisitors: number;
    humanUniqueVisitors: number;
  };
  daily: { day: string; clicks: number; uniqueVisitors: number }[];
  referrers: { value: string | null; clicks: number }[];
  countries: { value: string | null; clicks: number }[];
  browsers: { value: string | null; clicks: number }[];
  os: { value: string | null; clicks: number }[];
  devices: { value: string | null; clicks: number }[];
  from: string;
  to: string;
}

async function click(
  apiUrl: string,
  code: string,
  times: number,
  init: RequestInit,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    const response = await fetch(`${apiUrl}/${code}`, { redirect: 'manual', ...init });
    expect(response.status).toBe(302);
  }
}

const stats = async (apiUrl: string, code: string, query = ''): Promise<Stats> =>
  (await (await fetch(`${apiUrl}/api/v1/links/${code}/stats${query}`)).json()) as Stats;

describe('link stats, with the in-process (inline) click pipeline', () => {
  const { api } = useTestApi({
    env: { CLICKS_BATCH_INTERVAL_MS: '50' },
    databasePrefix: 'snip_stats',
  });

  it('counts clicks per day and breaks them down, bots left out unless asked', async () => {
    const { code } = await createLink(api.url);
    await click(api.url, code, 20, {
      headers: { 'user-agent': CHROME, referer: 'https://www.google.com/search?q=x' },
    });
    await click(api.url, code, 5, { headers: { 'user-agent': IPHONE } });
    await click(api.url, code, 3, { method: 'HEAD', headers: { 'user-agent': CHROME } });
    await click(api.url, code, 2, { headers: { 'user-agent': GOOGLEBOT } });

    const all = await eventually(
      () => stats(api.url, code, '?includeBots=true'),
      (s) => s.totals?.clicks === 30,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    // One address (loopback), three user agents: three visitors, the crawler's a bot. The HEAD
    // requests come from the Chrome visitor, already counted, and a human (decision 51).
    expect(all.totals).toEqual({
      clicks: 30,
      humanClicks: 25,
      botClicks: 5,
      uniqueVisitors: 3,
      humanUniqueVisitors: 2,
    });

    const humans = await stats(api.url, code);
    const today = new Date().toISOString().slice(0, 10);
    expect(humans.to).toBe(today);
    expect(humans.daily).toHaveLength(30);
    expect(humans.daily.at(-1)).toEqual({ day: today, clicks: 25, uniqueVisitors: 2 });
    expect(all.daily.at(-1)).toEqual({ day: today, clicks: 30, uniqueVisitors: 3 });
    expect(humans.totals).toEqual({
      clicks: 25,
      humanClicks: 25,
      botClicks: 5,
      uniqueVisitors: 2,
      humanUniqueVisitors: 2,
    });
    expect(humans.referrers).toEqual([
      { value: 'www.google.com', clicks: 20 },
      { value: null, clicks: 5 },
    ]);
    expect(humans.browsers).toEqual([
      { value: 'Chrome', clicks: 20 },
      { value: 'Mobile Safari', clicks: 5 },
    ]);
    expect(humans.os).toEqual([
      { value: 'Windows', clicks: 20 },
      { value: 'iOS', clicks: 5 },
    ]);
    expect(humans.devices).toEqual([
      { value: 'desktop', clicks: 20 },
      { value: 'mobile', clicks: 5 },
    ]);
    // Loopback addresses have no country.
    expect(humans.countries).toEqual([{ value: null, clicks: 25 }]);
    expect(await metric(api.url, 'snip_clicks_inserted_total')).toBe(30);
  });

  it('shows a user key the stats of its own links only', async () => {
    const key = async (name: string): Promise<string> => {
      const response = await fetch(`${api.url}/api/v1/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, role: 'user' }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { key: string }).key;
    };
    const [owner, other] = [await key('owner'), await key('other')];
    const created = await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': owner },
      body: JSON.stringify({ url: 'https://example.com/mine' }),
    });
    const { code } = (await created.json()) as { code: string };
    const as = (apiKey: string) =>
      fetch(`${api.url}/api/v1/links/${code}/stats`, { headers: { 'x-api-key': apiKey } });
    expect((await as(owner)).status).toBe(200);
    const foreign = await as(other);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { code: string }).code).toBe('LINK_NOT_FOUND');
  });

  it('answers problem+json for bad ranges and unknown links', async () => {
    const { code } = await createLink(api.url);
    for (const query of [
      '?from=2030-02-01&to=2030-01-01',
      '?from=2020-01-01&to=2030-01-01',
      '?from=yesterday',
      '?includeBots=maybe',
      '?unknown=1',
    ]) {
      const response = await fetch(`${api.url}/api/v1/links/${code}/stats${query}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(((await response.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
    }
    const missing = await fetch(`${api.url}/api/v1/links/nope-nope/stats`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('LINK_NOT_FOUND');
    const ranged = await stats(api.url, code, '?from=2030-01-01&to=2030-01-03');
    expect(ranged.daily).toEqual([
      { day: '2030-01-01', clicks: 0, uniqueVisitors: 0 },
      { day: '2030-01-02', clicks: 0, uniqueVisitors: 0 },
      { day: '2030-01-03', clicks: 0, uniqueVisitors: 0 },
    ]);
  });
});

describe('the embedded default (PGlite, inline clicks)', () => {
  it('stores clicks in process and serves their stats', async () => {
    const api = await spawnApi({ timeoutMs: 90_000 });
    try {
      const { code } = await createLink(api.url);
      await click(api.url, code, 10, { headers: { 'user-agent': CHROME } });
      const result = await eventually(
        () => stats(api.url, code),
        (s) => s.totals?.clicks === 10,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(result.browsers).toEqual([{ value: 'Chrome', clicks: 10 }]);
      // The same migrations on PGlite: one browser on one address is one visitor.
      expect(result.totals.uniqueVisitors).toBe(1);
      expect(result.daily.at(-1)).toMatchObject({ clicks: 10, uniqueVisitors: 1 });
    } finally {
      await api.stop();
    }
  }, 120_000);
});

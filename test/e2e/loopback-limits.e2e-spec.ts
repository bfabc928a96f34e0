import { LinksClient } from '../support/http';
import { uniquePrefix } from '../support/metrics';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

/** Low limits, so that a short script passes them; Redis holds the counters, as in production. */
const limits = (): Record<string, string> => ({
  REDIS_URL,
  REDIS_KEY_PREFIX: uniquePrefix('loopback'),
  RATE_LIMIT_IP_PER_MIN: '3',
  REDIRECT_RATE_LIMIT_PER_MIN: '3',
});

/** The status of `count` link reads and then `count` redirects, from this (loopback) client. */
async function script(
  apiUrl: string,
  count: number,
): Promise<{ api: number[]; redirects: number[] }> {
  const links = new LinksClient(apiUrl);
  const link = await links.create({ url: 'https://example.com/scripted' });
  const api: number[] = [];
  const redirects: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await links.get(link.code);
    await res.arrayBuffer();
    api.push(res.status);
  }
  for (let i = 0; i < count; i++) {
    const res = await links.redirect(`/${link.code}`);
    await res.arrayBuffer();
    redirects.push(res.status);
  }
  return { api, redirects };
}

describe('local profile: a script on the same machine is not rate limited', () => {
  const { api } = useTestApi({ env: { ...limits(), SNIP_PROFILE: 'local' } });

  it('answers every request of a loopback client although it is over the limits', async () => {
    const { api: reads, redirects } = await script(api.url, 10);
    expect(reads).toEqual(Array<number>(10).fill(200));
    expect(redirects).toEqual(Array<number>(10).fill(302));
  });
});

describe('test profile (loopback not exempt): the same script is limited', () => {
  const { api } = useTestApi({ env: limits() });

  it('answers 429 past the per-IP limits', async () => {
    const { api: reads, redirects } = await script(api.url, 5);
    // The creation counted as the first API request.
    expect(reads).toEqual([200, 200, 429, 429, 429]);
    expect(redirects).toEqual([302, 302, 302, 429, 429]);
  });
});

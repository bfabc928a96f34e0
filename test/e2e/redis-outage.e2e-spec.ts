import { LinksClient } from '../support/http';
import { useTestApi } from '../support/suite';

// Nothing listens on port 1: the configured Redis is down from the first moment.
const DEAD_REDIS = 'redis://127.0.0.1:1';

describe('Redis down', () => {
  const { api } = useTestApi({ env: { REDIS_URL: DEAD_REDIS } });

  it('starts, and readiness names Redis as degraded while staying 200', async () => {
    const res = await fetch(`${api.url}/health/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      details: Record<string, { status: string }>;
    };
    expect(body.status).toBe('degraded');
    expect(body.details.database?.status).toBe('up');
    expect(body.details.redis?.status).toBe('degraded');
  });

  it('still creates links (rate limits fail open) and redirects from the database', async () => {
    const link = await new LinksClient(api.url).create({ url: 'https://example.com/no-redis' });
    const res = await fetch(`${api.url}/${link.code}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/no-redis');
  });

  it('drains and exits 0 on SIGTERM although Redis never answered', async () => {
    expect(await api.stop()).toBe(0);
  });
});

import { query } from '../support/database';
import { api, uniquePrefix, visit } from '../support/metrics';
import { runCli } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

interface CreatedKey {
  readonly id: string;
  readonly key: string;
  readonly role: string;
}

describe('API keys with AUTH_REQUIRED', () => {
  const { db, api: server } = useTestApi({
    env: { REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix('keys'), AUTH_REQUIRED: 'true' },
    setupTimeoutMs: 120_000,
  });
  let admin: CreatedKey;

  const createKey = async (name: string, role: string, expiresAt?: string) => {
    const res = await api(server.url, 'POST', '/api/v1/api-keys', {
      key: admin.key,
      body: { name, role, ...(expiresAt ? { expiresAt } : {}) },
    });
    expect(res.status).toBe(201);
    return res.body as unknown as CreatedKey;
  };

  beforeAll(async () => {
    const cli = await runCli(['api-key:create', '--name', 'ops', '--role', 'admin'], {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    expect(cli.code).toBe(0);
    admin = JSON.parse(cli.output.trim().split('\n').pop()!) as CreatedKey;
    expect(admin.key).toMatch(/^snip_/);
  }, 120_000);

  it('refuses /api/v1 without a key (401 API_KEY_MISSING) or with a bad one (401 API_KEY_INVALID)', async () => {
    const missing = await api(server.url, 'GET', '/api/v1/links');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.body.code).toBe('API_KEY_MISSING');
    for (const key of ['nonsense', `snip_${'A'.repeat(43)}`]) {
      const invalid = await api(server.url, 'GET', '/api/v1/links', { key });
      expect(invalid.status).toBe(401);
      expect(invalid.body.code).toBe('API_KEY_INVALID');
    }
  });

  it('never asks for a key on redirects, health and metrics', async () => {
    const link = await api(server.url, 'POST', '/api/v1/links', {
      key: admin.key,
      body: { url: 'https://example.com/open' },
    });
    expect((await visit(server.url, link.body.code as string)).status).toBe(302);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  it('keeps key management to admin keys (403 FORBIDDEN for user keys)', async () => {
    const user = await createKey('app', 'user');
    expect(user.key).toMatch(/^snip_/);
    const res = await api(server.url, 'GET', '/api/v1/api-keys', { key: user.key });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    const listed = await api(server.url, 'GET', '/api/v1/api-keys', { key: admin.key });
    expect(listed.status).toBe(200);
    const items = listed.body as unknown as Record<string, unknown>[];
    expect(items.map((k) => k.id)).toContain(user.id);
    // The key itself is never shown again.
    expect(JSON.stringify(items)).not.toContain(user.key);
  });

  it('lets a user key see, edit and delete only the links it created', async () => {
    const alice = await createKey('alice', 'user');
    const bob = await createKey('bob', 'user');
    const created = await api(server.url, 'POST', '/api/v1/links', {
      key: alice.key,
      body: { url: 'https://example.com/alice' },
    });
    expect(created.status).toBe(201);
    const code = created.body.code as string;

    expect((await api(server.url, 'GET', `/api/v1/links/${code}`, { key: alice.key })).status).toBe(
      200,
    );
    const notHers = await api(server.url, 'GET', `/api/v1/links/${code}`, { key: bob.key });
    expect(notHers.status).toBe(404);
    expect(notHers.body.code).toBe('LINK_NOT_FOUND');
    expect(
      (
        await api(server.url, 'PATCH', `/api/v1/links/${code}`, {
          key: bob.key,
          body: { disabled: true },
        })
      ).status,
    ).toBe(404);
    expect(
      (await api(server.url, 'DELETE', `/api/v1/links/${code}`, { key: bob.key })).status,
    ).toBe(404);
    const bobsList = await api(server.url, 'GET', '/api/v1/links?limit=100', { key: bob.key });
    expect((bobsList.body.items as { code: string }[]).map((l) => l.code)).not.toContain(code);
    const alicesList = await api(server.url, 'GET', '/api/v1/links?limit=100', { key: alice.key });
    expect((alicesList.body.items as { code: string }[]).map((l) => l.code)).toEqual([code]);

    // Admin sees and changes everything.
    expect((await api(server.url, 'GET', `/api/v1/links/${code}`, { key: admin.key })).status).toBe(
      200,
    );
    expect(
      (
        await api(server.url, 'PATCH', `/api/v1/links/${code}`, {
          key: alice.key,
          body: { url: 'https://example.com/alice-2' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await api(server.url, 'DELETE', `/api/v1/links/${code}`, { key: alice.key })).status,
    ).toBe(204);
  });

  it('stops a key at once when revoked, by endpoint or command line, and after it expires', async () => {
    const viaApi = await createKey('short-lived', 'user');
    expect((await api(server.url, 'GET', '/api/v1/links', { key: viaApi.key })).status).toBe(200);
    expect(
      (await api(server.url, 'DELETE', `/api/v1/api-keys/${viaApi.id}`, { key: admin.key })).status,
    ).toBe(204);
    const revoked = await api(server.url, 'GET', '/api/v1/links', { key: viaApi.key });
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe('API_KEY_INVALID');

    const viaCli = await createKey('cli-revoked', 'user');
    const cli = await runCli(['api-key:revoke', viaCli.id], {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    expect(cli.code).toBe(0);
    expect((await api(server.url, 'GET', '/api/v1/links', { key: viaCli.key })).status).toBe(401);

    const listed = await runCli(['api-key:list'], { DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    const rows = listed.output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; revokedAt: string | null });
    expect(rows.find((row) => row.id === viaCli.id)?.revokedAt).not.toBeNull();

    const soon = await createKey(
      'expiring',
      'user',
      new Date(Date.now() + 3_600_000).toISOString(),
    );
    expect((await api(server.url, 'GET', '/api/v1/links', { key: soon.key })).status).toBe(200);
    // Its hour passes: moved into the past in the database rather than waited for.
    await query(
      db.url,
      `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [soon.id],
    );
    expect((await api(server.url, 'GET', '/api/v1/links', { key: soon.key })).status).toBe(401);

    expect(
      (await api(server.url, 'DELETE', '/api/v1/api-keys/not-a-uuid', { key: admin.key })).body
        .code,
    ).toBe('API_KEY_NOT_FOUND');
  }, 60_000);

  it('validates key creation', async () => {
    const res = await api(server.url, 'POST', '/api/v1/api-keys', {
      key: admin.key,
      body: { name: 'x', role: 'root' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('API keys without AUTH_REQUIRED', () => {
  const { api: server } = useTestApi({
    env: { AUTH_REQUIRED: 'false' },
    setupTimeoutMs: 120_000,
  });

  it('serves requests without a key, but still refuses a bad one', async () => {
    expect((await api(server.url, 'GET', '/api/v1/links')).status).toBe(200);
    expect((await api(server.url, 'GET', '/api/v1/api-keys')).status).toBe(200);
    expect((await api(server.url, 'GET', '/api/v1/links', { key: 'wrong' })).status).toBe(401);
  });
});

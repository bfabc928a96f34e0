import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnApi, type SpawnedApi } from '../support/process';

describe('smoke', () => {
  let db: TestDatabase;
  let api: SpawnedApi;
  beforeAll(async () => {
    db = await createTestDatabase();
    api = await spawnApi({ env: { DATABASE_URL: db.url } });
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('creates and redirects', async () => {
    const created = await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/x' }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { code: string };
    const res = await fetch(`${api.url}/${body.code}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/x');
  });
});

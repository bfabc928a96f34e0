import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinksClient, type LinkBody } from '../support/http';
import { spawnApi, type SpawnedApi } from '../support/process';

jest.setTimeout(90_000);

describe('the embedded default (PGlite in DATA_DIR)', () => {
  let dataDir: string;
  let api: SpawnedApi | undefined;

  // The local profile as `npm start` runs it: no DATABASE_URL, no secret.
  const local = { SNIP_PROFILE: 'local', SHORT_CODE_SECRET: '' };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'snip-embedded-'));
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps links, the id sequence and the code secret across a restart', async () => {
    api = await spawnApi({ dataDir, env: local });
    expect(api.output.join('\n')).toContain('"database":"embedded"');
    expect(api.output.join('\n')).toContain('applied database migrations');
    let links = new LinksClient(api.url);
    const generated = await links.create({ url: 'https://example.com/kept', redirectType: 301 });
    const alias = await links.create({ url: 'https://example.com/alias', alias: 'kept-alias' });
    const secret = readFileSync(join(dataDir, 'short-code-secret'), 'utf8');
    const first = await api.stop();
    expect({ code: first, log: first === 0 ? [] : api.output.slice(-20) }).toEqual({
      code: 0,
      log: [],
    });
    api = undefined;
    expect(existsSync(join(dataDir, 'pglite'))).toBe(true);

    api = await spawnApi({ dataDir, env: local });
    expect(api.output.join('\n')).not.toContain('applied database migrations');
    links = new LinksClient(api.url);

    const res = await links.redirect(`/${generated.code}`);
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://example.com/kept');
    expect((await links.redirect('/kept-alias')).headers.get('location')).toBe(
      'https://example.com/alias',
    );
    expect(await (await links.get(generated.code)).json()).toEqual(generated);
    // Codes are never handed out twice: the sequence carried on from where it was.
    const more: LinkBody[] = [];
    for (let i = 0; i < 5; i++) more.push(await links.create({ url: `https://e.com/${i}` }));
    const codes = new Set([generated.code, alias.code, ...more.map((l) => l.code)]);
    expect(codes.size).toBe(7);
    expect(readFileSync(join(dataDir, 'short-code-secret'), 'utf8')).toBe(secret);

    const code = await api.stop();
    expect({ code, log: code === 0 ? [] : api.output.slice(-20) }).toEqual({ code: 0, log: [] });
    api = undefined;
  });
});

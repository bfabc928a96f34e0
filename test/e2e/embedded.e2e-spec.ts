import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinksClient, type LinkBody } from '../support/http';
import { runApiToExit, runCli, spawnApi, type SpawnedApi } from '../support/process';

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

  it('refuses a second process, the CLI too, on a data directory in use, and keeps what the first wrote', async () => {
    api = await spawnApi({ dataDir, env: local });
    const links = new LinksClient(api.url);
    const first = await links.create({ url: 'https://example.com/first-owner' });

    const second = await runApiToExit({ ...local, DATA_DIR: dataDir }, 30_000, dataDir);
    const out = `${second.stdout}${second.stderr}`;
    expect(second.code).toBe(1);
    expect(out).toContain(`DATA_DIR ${dataDir} is in use by another snip process`);
    expect(out).toContain(`pid ${api.process.pid}`);
    expect(out).not.toMatch(/\n\s+at /);

    const cli = await runCli(['migration:show'], { ...local, DATA_DIR: dataDir });
    expect(cli.code).toBe(1);
    expect(cli.output).toContain(`DATA_DIR ${dataDir} is in use by another snip process`);

    // The first process was not disturbed; a restart after it stopped finds its link.
    expect((await links.redirect(`/${first.code}`)).headers.get('location')).toBe(
      'https://example.com/first-owner',
    );
    expect(await api.stop()).toBe(0);
    api = await spawnApi({ dataDir, env: local });
    expect((await new LinksClient(api.url).redirect(`/${first.code}`)).status).toBe(302);
    await api.stop();
    api = undefined;
  });

  it('takes over the lock of a process that was killed without releasing it', async () => {
    api = await spawnApi({ dataDir, env: local });
    expect(await api.stop('SIGKILL')).toBe(null);
    api = await spawnApi({ dataDir, env: local });
    expect(api.output.join('\n')).toContain('snip api listening');
    await api.stop();
    api = undefined;
  });
});

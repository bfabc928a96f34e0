import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from '../support/eventually';
import { expectProblem, LinksClient, type LinkBody } from '../support/http';
import { runCli, spawnApi, type SpawnedApi } from '../support/process';
import { REDIS_URL } from '../support/services';
import { useTestApi } from '../support/suite';

interface Summary {
  readonly domains: string[];
  readonly disabled: number;
  readonly codes: string[];
}

/** A request to /api/v1 with an API key. */
function call(base: string, method: string, path: string, key: string, body?: unknown) {
  return fetch(`${base}${path}`, {
    method,
    headers: {
      'x-api-key': key,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('destination policy', () => {
  describe('refused targets', () => {
    const { api } = useTestApi({
      env: {
        PUBLIC_BASE_URL: 'https://sn.ip',
        SELF_HOSTS: 'go.example,localhost:3000',
        URL_BLOCKED_DOMAINS: 'bad.example',
      },
    });
    let links: LinksClient;
    beforeAll(() => {
      links = new LinksClient(api.url);
    });

    it.each([
      ['the public base URL on another port', 'https://sn.ip:8443/x', /itself/],
      ['a SELF_HOSTS name', 'https://go.example/x', /itself/],
      ['localhost on another port', 'http://localhost:3001/x', /itself/],
      ['an IPv4-mapped loopback address', 'http://[::ffff:127.0.0.1]:3000/x', /itself/],
      ['a decimal loopback address', 'http://2130706433/x', /itself/],
      ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/', /internal/],
      ['the GCP metadata name', 'http://metadata.google.internal/', /internal/],
      ['a private address', 'http://10.0.0.7/x', /internal/],
      ['an IPv6 unique local address', 'http://[fd00::7]/x', /internal/],
    ])('refuses %s (%s) with 400 URL_NOT_ALLOWED', async (_, url, detail) => {
      const problem = await expectProblem(await links.post({ url }), 400, 'URL_NOT_ALLOWED');
      expect(problem.detail).toMatch(detail);
    });

    it('refuses the api itself, as it is reached', async () => {
      await expectProblem(await links.post({ url: `${api.url}/abc` }), 400, 'URL_NOT_ALLOWED');
    });

    it('refuses a blocked domain and its subdomains with 400 URL_BLOCKED', async () => {
      for (const url of ['https://bad.example/', 'https://WWW.Bad.Example./x']) {
        const problem = await expectProblem(await links.post({ url }), 400, 'URL_BLOCKED');
        expect(problem).toMatchObject({ domain: 'bad.example' });
      }
      expect((await links.create({ url: 'https://notbad.example/' })).url).toBe(
        'https://notbad.example/',
      );
    });

    it('describes the enforce action in the OpenAPI document', async () => {
      const doc = (await (await fetch(`${api.url}/docs-json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      expect(Object.keys(doc.paths['/api/v1/admin/blocklist/enforce']!)).toEqual(['post']);
    });

    it('applies the same rules when a link is changed', async () => {
      const link = await links.create({ url: 'https://example.com/ok' });
      await expectProblem(
        await links.patch(link.code, { url: 'http://0x7f.1/' }),
        400,
        'URL_NOT_ALLOWED',
      );
      await expectProblem(
        await links.patch(link.code, { url: 'https://x.bad.example/' }),
        400,
        'URL_BLOCKED',
      );
      expect((await links.redirect(`/${link.code}`)).headers.get('location')).toBe(
        'https://example.com/ok',
      );
    });
  });

  describe('blocklist file and enforcement', () => {
    const folder = mkdtempSync(join(tmpdir(), 'snip-blocklist-'));
    const file = join(folder, 'blocked-domains.txt');
    const prefix = `snip-e2e-dest-${randomBytes(4).toString('hex')}:`;
    const env = {
      AUTH_REQUIRED: 'true',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      URL_BLOCKLIST_FILE: file,
      URL_BLOCKLIST_POLL_MS: '100',
      // Long enough that only an eviction, never the TTL, can end a cached redirect here.
      CACHE_L1_TTL_MS: '600000',
    };
    writeFileSync(file, '# nothing blocked yet\n');
    const { db, api } = useTestApi({ env });
    let other: SpawnedApi | undefined;
    let redis: Redis;
    let admin: string;
    let user: string;

    const createKey = async (role: 'admin' | 'user'): Promise<string> => {
      const cli = await runCli(['api-key:create', '--name', role, '--role', role], {
        DATABASE_URL: db.url,
        LOG_LEVEL: 'warn',
      });
      expect(cli.code).toBe(0);
      return (JSON.parse(cli.output.trim().split('\n').pop()!) as { key: string }).key;
    };
    const create = async (url: string): Promise<LinkBody> => {
      const res = await call(api.url, 'POST', '/api/v1/links', user, { url });
      expect(res.status).toBe(201);
      return (await res.json()) as LinkBody;
    };
    const status = async (base: string, code: string): Promise<number> =>
      (await fetch(`${base}/${code}`, { redirect: 'manual' })).status;
    /**
     * Waits until the running api refuses targets under `domain` (the file has been read): a PATCH
     * of a code that does not exist answers 404 until the URL itself is refused, and changes nothing.
     */
    const blockedNow = (domain: string) =>
      eventually(
        async () =>
          (
            await call(api.url, 'PATCH', '/api/v1/links/none-such', user, {
              url: `https://x.${domain}/`,
            })
          ).status,
        (code) => code === 400,
        { what: `the api to block ${domain}` },
      );

    beforeAll(async () => {
      redis = new Redis(REDIS_URL);
      admin = await createKey('admin');
      user = await createKey('user');
      // A second instance on the same database and Redis: evictions must reach its L1 too.
      other = await spawnApi({ env: { ...env, DATABASE_URL: db.url } });
    }, 120_000);
    afterAll(async () => {
      await other?.stop();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      rmSync(folder, { recursive: true, force: true });
    });

    it('applies an edited blocklist file without a restart, and keeps it when the file goes', async () => {
      const early = await create('https://late.example/a');
      writeFileSync(file, '# phishing\nlate.example  # reported\n');
      await blockedNow('late.example');
      const res = await call(api.url, 'POST', '/api/v1/links', user, {
        url: 'https://late.example/b',
      });
      await expectProblem(res, 400, 'URL_BLOCKED');
      // A link made before the domain was blocked keeps redirecting until the list is enforced.
      expect(await status(api.url, early.code)).toBe(302);

      // The file disappears: one warning, and the last list read stays in force.
      renameSync(file, `${file}.away`);
      await eventually(
        () => api.output.filter((line) => line.includes('url blocklist file cannot be read')),
        (lines) => lines.length === 1,
        { what: 'the warning about the missing file' },
      );
      await expectProblem(
        await call(api.url, 'POST', '/api/v1/links', user, { url: 'https://late.example/c' }),
        400,
        'URL_BLOCKED',
      );
      renameSync(`${file}.away`, file);
    });

    it('disables and evicts every link to a blocked domain on POST /api/v1/admin/blocklist/enforce (admin only)', async () => {
      const visited = await create('https://shady.example/visited');
      const sub = await create('https://www.shady.example/sub');
      const kept = await create('https://shady.example.org/kept');
      // Into L1 of both instances and into L2.
      for (const base of [api.url, other!.url]) {
        for (const link of [visited, sub, kept]) expect(await status(base, link.code)).toBe(302);
      }
      writeFileSync(file, 'late.example\nshady.example\n');
      await blockedNow('shady.example');
      // Blocking alone changes no existing link.
      expect(await status(other!.url, visited.code)).toBe(302);

      await expectProblem(
        await call(api.url, 'POST', '/api/v1/admin/blocklist/enforce', user),
        403,
        'FORBIDDEN',
      );
      expect(await status(api.url, visited.code)).toBe(302);

      const res = await call(api.url, 'POST', '/api/v1/admin/blocklist/enforce', admin);
      expect(res.status).toBe(200);
      const summary = (await res.json()) as Summary;
      expect(summary.domains).toEqual(['late.example', 'shady.example']);
      // late.example/a from the test before, and the two shady ones.
      expect(summary.disabled).toBe(3);
      expect(summary.codes).toEqual(expect.arrayContaining([visited.code, sub.code]));
      expect(summary.codes).not.toContain(kept.code);

      // This instance answers 410 at once; the other as soon as the eviction reaches it.
      expect(await status(api.url, visited.code)).toBe(410);
      expect(await status(api.url, sub.code)).toBe(410);
      for (const link of [visited, sub]) {
        await eventually(
          () => status(other!.url, link.code),
          (code) => code === 410,
          { what: `the other instance to answer 410 for ${link.code}`, timeoutMs: 2000 },
        );
      }
      expect(await status(other!.url, kept.code)).toBe(302);
      // L2 holds the disabled link.
      const cached = JSON.parse((await redis.get(`${prefix}cache:link:${visited.code}`))!) as {
        d: { disabled: boolean };
      };
      expect(cached.d.disabled).toBe(true);
      // The link is disabled, not deleted, and cannot be enabled again while its domain is blocked.
      const got = await call(api.url, 'GET', `/api/v1/links/${visited.code}`, admin);
      expect(((await got.json()) as LinkBody).disabled).toBe(true);
      await expectProblem(
        await call(api.url, 'PATCH', `/api/v1/links/${visited.code}`, admin, { disabled: false }),
        400,
        'URL_BLOCKED',
      );
      // Enforcing again finds nothing left to do.
      const again = await call(api.url, 'POST', '/api/v1/admin/blocklist/enforce', admin);
      expect(((await again.json()) as Summary).disabled).toBe(0);
    });

    // A CLI process boots the app: seconds on a loaded machine, beyond Jest's default 5 s.
    it('does the same from the command line: npm run cli -- blocklist:enforce', async () => {
      const link = await create('https://cli.example/x');
      for (const base of [api.url, other!.url]) expect(await status(base, link.code)).toBe(302);
      writeFileSync(file, 'late.example\nshady.example\ncli.example\n');

      const cli = await runCli(['blocklist:enforce'], {
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        URL_BLOCKLIST_FILE: file,
        LOG_LEVEL: 'warn',
      });
      expect(cli.code).toBe(0);
      const line = cli.output.split('\n').find((l) => l.includes('"disabled"'));
      expect(JSON.parse(line!)).toEqual({
        domains: ['cli.example', 'late.example', 'shady.example'],
        disabled: 1,
        codes: [link.code],
      });
      for (const base of [api.url, other!.url]) {
        await eventually(
          () => status(base, link.code),
          (code) => code === 410,
          { what: `${base} to answer 410 for ${link.code}`, timeoutMs: 2000 },
        );
      }
    }, 60_000);
  });
});

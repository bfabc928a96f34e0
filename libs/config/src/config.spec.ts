import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, configKeys, loadConfig } from './config';
import { ApiServerConfig, ClicksConfig, DatabaseConfig, LinksConfig } from './config.schema';
import { withLocalCodeSecret } from './local-secret';

const REPO_CONFIG = resolve(__dirname, '../../../config');
const SECRET = 'a-secret-of-enough-length';

describe('loadConfig', () => {
  let dir: string;
  let configDir: string;
  let dataDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snip-config-'));
    configDir = join(dir, 'config');
    dataDir = join(dir, 'data');
    mkdirSync(configDir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const profile = (name: string, body: string) =>
    writeFileSync(join(configDir, `${name}.env`), body);
  const load = (env: Record<string, string | undefined>) =>
    loadConfig({ DATA_DIR: dataDir, ...env }, { configDir, cwd: dir });

  function problems(env: Record<string, string | undefined>): string[] {
    try {
      load(env);
    } catch (error) {
      if (error instanceof ConfigError) {
        expect(error.message).toContain('Invalid configuration');
        for (const problem of error.problems) expect(error.message).toContain(problem);
        return [...error.problems];
      }
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('uses the documented defaults when neither profile file nor environment sets a key', () => {
    const config = load({ SNIP_PROFILE: 'test', SHORT_CODE_SECRET: SECRET });
    expect(config.app).toMatchObject({
      profile: 'test',
      host: '0.0.0.0',
      logLevel: 'info',
      bodyLimitBytes: 16 * 1024,
      maxUrlLength: 8192,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      shutdownGraceMs: 10_000,
      shutdownDrainDelayMs: 0,
    });
    expect(config.api).toMatchObject({
      port: 3000,
      publicBaseUrl: 'http://localhost:3000',
      swaggerEnabled: true,
      redirectAccessLogSampleRate: 0,
      webConcurrency: 1,
    });
    expect(config.links).toMatchObject({
      codeLength: 7,
      codeSecret: SECRET,
      idBlockSize: 100,
      urlMaxLength: 2048,
      reservedAliases: [],
      forwardQuery: true,
      permanentRedirectMaxAge: 0,
      selfHosts: [],
      allowPrivateTargets: false,
      blockedDomains: [],
      blocklistFile: undefined,
      blocklistPollMs: 5000,
    });
    expect(config.database).toMatchObject({
      mode: 'embedded',
      url: undefined,
      replicaUrls: [],
      poolSize: 10,
      migrateOnBoot: false,
      dataDir,
    });
  });

  it('picks the local profile when SNIP_PROFILE is unset or empty', () => {
    profile('local', 'PORT=4100\n');
    expect(load({}).app.profile).toBe('local');
    expect(load({}).api.port).toBe(4100);
    expect(load({ SNIP_PROFILE: '' }).app.profile).toBe('local');
  });

  it('lets the profile file override defaults and the environment override the file', () => {
    profile('development', 'PORT=4000\nLOG_LEVEL=debug\nHOST=127.0.0.1\n');
    const fromFile = load({ SNIP_PROFILE: 'development' });
    expect(fromFile.app).toMatchObject({ logLevel: 'debug', host: '127.0.0.1' });
    expect(fromFile.api.port).toBe(4000);
    const fromEnv = load({ SNIP_PROFILE: 'development', PORT: '5000', LOG_LEVEL: 'warn' });
    expect(fromEnv.app).toMatchObject({ logLevel: 'warn', host: '127.0.0.1' });
    expect(fromEnv.api.port).toBe(5000);
  });

  it('treats an empty value in the profile file as unset: the default stays', () => {
    profile('development', 'PORT=\nLOG_LEVEL=\nRATE_LIMIT_IP_PER_MIN=\nDATABASE_URL=\n');
    const config = load({ SNIP_PROFILE: 'development' });
    expect(config.api.port).toBe(3000);
    expect(config.app.logLevel).toBe('info');
    expect(config.throttle.ipPerMinute).toBe(300);
    expect(config.database.mode).toBe('embedded');
  });

  it('treats an empty environment variable as unset', () => {
    profile('development', 'PORT=4000\n');
    const config = load({
      SNIP_PROFILE: 'development',
      PORT: '',
      DATABASE_URL: '',
      PUBLIC_BASE_URL: '',
      SHORT_CODE_SECRET: '',
      SNIP_CONFIG_DIR: '',
    });
    expect(config.api.port).toBe(4000);
    expect(config.database.mode).toBe('embedded');
    expect(config.api.publicBaseUrl).toBe('http://localhost:4000');
  });

  it('finds the profile files in SNIP_CONFIG_DIR', () => {
    profile('test', 'PORT=4321\n');
    const config = loadConfig(
      { SNIP_PROFILE: 'test', SNIP_CONFIG_DIR: configDir, DATA_DIR: dataDir },
      { cwd: dir },
    );
    expect(config.api.port).toBe(4321);
  });

  it('loads the profiles shipped in config/', () => {
    const shipped = (name: string, env: Record<string, string> = {}) =>
      loadConfig({ SNIP_PROFILE: name, DATA_DIR: dataDir, ...env }, { configDir: REPO_CONFIG });
    expect(shipped('local').database).toMatchObject({ mode: 'embedded', migrateOnBoot: true });
    expect(shipped('test').api.port).toBe(0);
    expect(shipped('development').database.mode).toBe('postgres');
    const production = shipped('production', {
      DATABASE_URL: 'postgres://snip@db:5432/snip',
      SHORT_CODE_SECRET: SECRET,
      PUBLIC_BASE_URL: 'https://sn.ip',
    });
    expect(production.database).toMatchObject({ mode: 'postgres', migrateOnBoot: false });
    expect(production.api.publicBaseUrl).toBe('https://sn.ip');
    // Internal targets: allowed where snip runs on a developer's machine, refused elsewhere.
    expect(shipped('local').links.allowPrivateTargets).toBe(true);
    expect(shipped('development').links.allowPrivateTargets).toBe(true);
    expect(shipped('test').links.allowPrivateTargets).toBe(false);
    expect(production.links.allowPrivateTargets).toBe(false);
  });

  it('requires DATABASE_URL, SHORT_CODE_SECRET and PUBLIC_BASE_URL in production', () => {
    const found = problems({ SNIP_PROFILE: 'production' });
    expect(found.sort()).toEqual([
      expect.stringMatching(/^DATABASE_URL: is required in the production profile/),
      expect.stringMatching(/^PUBLIC_BASE_URL: is required in the production profile/),
      expect.stringMatching(/^SHORT_CODE_SECRET: is required in the production profile/),
    ]);
    // Set but empty counts as missing.
    expect(
      problems({
        SNIP_PROFILE: 'production',
        DATABASE_URL: 'postgres://db/snip',
        SHORT_CODE_SECRET: SECRET,
        PUBLIC_BASE_URL: '',
      }),
    ).toEqual([expect.stringMatching(/^PUBLIC_BASE_URL: .*required/)]);
  });

  it('needs PUBLIC_BASE_URL in production only where the api namespace is read', () => {
    const production = { SNIP_PROFILE: 'production', DATABASE_URL: 'postgres://db/snip' };
    // What the logs worker reads: no api namespace, so no PUBLIC_BASE_URL (nor SHORT_CODE_SECRET).
    const worker = loadConfig(production, {
      configDir,
      cwd: dir,
      namespaces: ['app', 'database', 'redis', 'clicks', 'clickIngest', 'worker'],
    });
    expect(worker.app.profile).toBe('production');
    expect(Object.keys(worker)).not.toContain('api');
    // With the api namespace read, the same environment is refused, with the same message as before.
    const apiProblems = (env: Record<string, string>) => {
      try {
        loadConfig(env, { configDir, cwd: dir, namespaces: ['app', 'api', 'database'] });
      } catch (error) {
        if (error instanceof ConfigError) return [...error.problems];
        throw error;
      }
      return [];
    };
    expect(apiProblems(production)).toEqual([
      'PUBLIC_BASE_URL: is required in the production profile (it is the origin of every shortUrl)',
    ]);
    const api = loadConfig(
      { ...production, PUBLIC_BASE_URL: 'https://sn.ip/' },
      { configDir, cwd: dir, namespaces: ['app', 'api', 'database'] },
    );
    expect(api.api).toBeInstanceOf(ApiServerConfig);
    expect(api.api).toMatchObject({ port: 3000, publicBaseUrl: 'https://sn.ip' });
  });

  it.each([
    [
      'SNIP_PROFILE',
      { SNIP_PROFILE: 'staging' },
      /not one of local, development, test, production/,
    ],
    ['PORT', { PORT: 'abc' }, /whole number.*"abc"/],
    ['PORT', { PORT: '70000' }, /65535/],
    ['PORT', { PORT: '-1' }, /whole number/],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'ftp://sn.ip' }, /http\(s\) URL/],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'sn.ip' }, /http\(s\) URL/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /"loud"/],
    ['SWAGGER_ENABLED', { SWAGGER_ENABLED: 'maybe' }, /true or false/],
    ['REDIRECT_FORWARD_QUERY', { REDIRECT_FORWARD_QUERY: 'TRUE!' }, /true or false/],
    ['REDIRECT_ACCESS_LOG_SAMPLE_RATE', { REDIRECT_ACCESS_LOG_SAMPLE_RATE: '2' }, /1/],
    ['HTTP_BODY_LIMIT_BYTES', { HTTP_BODY_LIMIT_BYTES: '10' }, /1024/],
    ['HTTP_BODY_LIMIT_BYTES', { HTTP_BODY_LIMIT_BYTES: '16k' }, /whole number/],
    [
      'HTTP_HEADERS_TIMEOUT_MS',
      { HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '30000' },
      /must not exceed HTTP_REQUEST_TIMEOUT_MS/,
    ],
    ['HTTP_REQUEST_TIMEOUT_MS', { HTTP_REQUEST_TIMEOUT_MS: '0' }, /100/],
    [
      'SHUTDOWN_DRAIN_DELAY_MS',
      { SHUTDOWN_DRAIN_DELAY_MS: '10000', SHUTDOWN_GRACE_MS: '10000' },
      /shorter than SHUTDOWN_GRACE_MS/,
    ],
    ['SHORT_CODE_LENGTH', { SHORT_CODE_LENGTH: '4' }, /5/],
    ['SHORT_CODE_LENGTH', { SHORT_CODE_LENGTH: '12' }, /11/],
    ['LINK_ID_BLOCK_SIZE', { LINK_ID_BLOCK_SIZE: '0' }, /1/],
    ['URL_MAX_LENGTH', { URL_MAX_LENGTH: '1.5' }, /whole number/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/snip' }, /postgres:\/\//],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }, /postgres:\/\//],
    [
      'DATABASE_REPLICA_URLS',
      { DATABASE_REPLICA_URLS: 'postgres://r1/snip' },
      /needs DATABASE_URL/,
    ],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '0' }, /1/],
    ['DATABASE_MIGRATE_ON_BOOT', { DATABASE_MIGRATE_ON_BOOT: 'sometimes' }, /true or false/],
    ['REDIS_URL', { REDIS_URL: 'http://cache:6379' }, /redis:\/\//],
    [
      'SELF_HOSTS',
      { SELF_HOSTS: 'go.example, go.example/path' },
      /"go.example\/path" is not a host/,
    ],
    ['SELF_HOSTS', { SELF_HOSTS: 'http://[::1' }, /not a host, host:port or origin/],
  ])('names %s when it is invalid (%j)', (key, env, detail) => {
    const found = problems({ SNIP_PROFILE: 'test', SHORT_CODE_SECRET: SECRET, ...env });
    const mine = found.filter((p) => p.startsWith(`${key}: `));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.join('\n')).toMatch(detail);
  });

  it('names a bad key that comes from the profile file', () => {
    profile('test', 'PORT=http\n');
    expect(problems({ SNIP_PROFILE: 'test', SHORT_CODE_SECRET: SECRET })).toEqual([
      expect.stringMatching(/^PORT: .*"http"/),
    ]);
  });

  it('reports every bad key at once', () => {
    const found = problems({
      SNIP_PROFILE: 'test',
      PORT: 'x',
      LOG_LEVEL: 'y',
      SHORT_CODE_LENGTH: 'z',
    });
    expect(found.map((p) => p.split(':', 1)[0]).sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'SHORT_CODE_LENGTH',
    ]);
  });

  it('never repeats a secret in its message', () => {
    const found = problems({ SNIP_PROFILE: 'test', SHORT_CODE_SECRET: 'tooshort-s3cr3t' });
    expect(found).toEqual([expect.stringMatching(/^SHORT_CODE_SECRET: .*16/)]);
    expect(found.join('\n')).not.toContain('tooshort-s3cr3t');
  });

  it('parses lists, booleans and URLs into typed values', () => {
    const config = load({
      SNIP_PROFILE: 'test',
      SHORT_CODE_SECRET: SECRET,
      RESERVED_ALIASES: ' login, stats ,,Admin ',
      REDIRECT_FORWARD_QUERY: 'no',
      SWAGGER_ENABLED: '0',
      DATABASE_MIGRATE_ON_BOOT: 'yes',
      PUBLIC_BASE_URL: 'https://sn.ip/',
      DATABASE_URL: 'postgresql://snip@db:5432/snip',
      DATABASE_REPLICA_URLS: 'postgres://r1/snip, postgres://r2/snip',
      DATA_DIR: 'relative/data',
      SELF_HOSTS: 'go.example, localhost:3000',
      URL_ALLOW_PRIVATE_TARGETS: 'true',
      URL_BLOCKED_DOMAINS: 'bad.example,,evil.example ',
      URL_BLOCKLIST_FILE: 'conf/blocked.txt',
      URL_BLOCKLIST_POLL_MS: '250',
    });
    expect(config.links).toMatchObject({
      selfHosts: ['go.example', 'localhost:3000'],
      allowPrivateTargets: true,
      blockedDomains: ['bad.example', 'evil.example'],
      blocklistFile: join(dir, 'conf/blocked.txt'),
      blocklistPollMs: 250,
    });
    expect(config.links.reservedAliases).toEqual(['login', 'stats', 'Admin']);
    expect(config.links.forwardQuery).toBe(false);
    expect(config.api.swaggerEnabled).toBe(false);
    expect(config.database.migrateOnBoot).toBe(true);
    expect(config.api.publicBaseUrl).toBe('https://sn.ip');
    expect(config.database).toMatchObject({
      mode: 'postgres',
      url: 'postgresql://snip@db:5432/snip',
      replicaUrls: ['postgres://r1/snip', 'postgres://r2/snip'],
      dataDir: join(dir, 'relative/data'),
    });
  });

  it('reads without side effects: no secret is generated, DATA_DIR is not created', () => {
    const config = load({ SNIP_PROFILE: 'local' });
    expect(config.links.codeSecret).toBeUndefined();
    expect(existsSync(dataDir)).toBe(false);
  });

  it('reads only the namespaces asked for, and validates only their keys', () => {
    const config = loadConfig(
      { SNIP_PROFILE: 'production', DATABASE_URL: 'postgres://db/snip', SHORT_CODE_LENGTH: 'x' },
      { configDir, cwd: dir, namespaces: ['database'] },
    );
    expect(Object.keys(config)).toEqual(['database']);
    expect(config.database).toBeInstanceOf(DatabaseConfig);
    // With `links` read, the same environment is refused for its SHORT_CODE_LENGTH.
    expect(
      problems({
        SNIP_PROFILE: 'production',
        DATABASE_URL: 'postgres://db/snip',
        SHORT_CODE_LENGTH: 'x',
      }),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/^SHORT_CODE_LENGTH: /)]));
  });

  it('reads WEB_CONCURRENCY as 1 to 64 or auto, above 1 only with DATABASE_URL and REDIS_URL', () => {
    const shared = {
      SNIP_PROFILE: 'test',
      SHORT_CODE_SECRET: SECRET,
      DATABASE_URL: 'postgres://db/snip',
      REDIS_URL: 'redis://cache:6379',
    };
    expect(load({ ...shared, WEB_CONCURRENCY: '4' }).api.webConcurrency).toBe(4);
    expect(load({ ...shared, WEB_CONCURRENCY: 'auto' }).api.webConcurrency).toBe(
      Math.min(availableParallelism(), 64),
    );
    for (const bad of ['0', '65', '1.5', 'two']) {
      expect(problems({ ...shared, WEB_CONCURRENCY: bad })).toEqual([
        `WEB_CONCURRENCY: expected a whole number from 1 to 64, or auto (got "${bad}")`,
      ]);
    }
    expect(problems({ ...shared, WEB_CONCURRENCY: '2', DATABASE_URL: undefined })).toEqual([
      expect.stringMatching(/^WEB_CONCURRENCY: above 1 needs DATABASE_URL: the embedded database/),
    ]);
    expect(problems({ ...shared, WEB_CONCURRENCY: '2', REDIS_URL: undefined })).toEqual([
      expect.stringMatching(/^WEB_CONCURRENCY: above 1 needs REDIS_URL: /),
    ]);
    // One process needs neither.
    expect(load({ SNIP_PROFILE: 'test', WEB_CONCURRENCY: '1' }).api.webConcurrency).toBe(1);
  });

  it('gives each namespace its class, so Nest injects it by that token', () => {
    const config = load({ SNIP_PROFILE: 'test', SHORT_CODE_SECRET: SECRET });
    expect(config.links).toBeInstanceOf(LinksConfig);
    expect(config.clicks).toBeInstanceOf(ClicksConfig);
  });

  it('declares every key once, each with its own environment variable', () => {
    const envs = configKeys().map((key) => key.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(envs.length).toBeGreaterThan(60);
  });
});

describe('withLocalCodeSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snip-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string> = {}) =>
    loadConfig(
      { SNIP_PROFILE: 'test', DATA_DIR: join(dir, 'data'), ...env },
      { configDir: join(dir, 'none'), cwd: dir, namespaces: ['links', 'database'] },
    );

  it('generates a secret once and keeps it in DATA_DIR', () => {
    const first = withLocalCodeSecret(load()).links.codeSecret ?? '';
    const second = withLocalCodeSecret(load()).links.codeSecret;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(second).toBe(first);
    const file = join(dir, 'data', 'short-code-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps the class and every other value, and leaves the loaded configuration as it was', () => {
    const loaded = load({ SHORT_CODE_LENGTH: '9' });
    const config = withLocalCodeSecret(loaded);
    expect(config.links).toBeInstanceOf(LinksConfig);
    expect(config.links.codeLength).toBe(9);
    expect(loaded.links.codeSecret).toBeUndefined();
  });

  it('lets a configured secret win, and writes nothing then', () => {
    const config = withLocalCodeSecret(load({ SHORT_CODE_SECRET: SECRET }));
    expect(config.links.codeSecret).toBe(SECRET);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

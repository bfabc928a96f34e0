import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { metaOf, NAMESPACES, PROFILES, type Namespace, type Profile } from './config.schema';

/** A loaded configuration: one object per namespace read, each an instance of its class. */
export type SnipConfig<N extends Namespace = Namespace> = {
  readonly [K in N]: InstanceType<(typeof NAMESPACES)[K]>;
};

/** Raised when configuration is invalid; the message names every bad key and its problem. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions<N extends Namespace = Namespace> {
  /** The namespaces to read and validate: what the app uses. Default: all of them. */
  readonly namespaces?: readonly N[];
  /** Folder of the `<profile>.env` files; default SNIP_CONFIG_DIR, else `config/` in the cwd. */
  readonly configDir?: string;
  /** Working directory that relative paths (DATA_DIR) resolve against. */
  readonly cwd?: string;
}

/** One configuration key as the README documents it. */
interface ConfigKey {
  /** The environment variable. */
  readonly env: string;
  readonly namespace: Namespace;
  /** The class that carries it, such as `LinksConfig`. */
  readonly className: string;
  readonly field: string;
  /** Its schema: parsing `undefined` gives the default. */
  readonly schema: z.ZodType;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

/** The object schema under a namespace's refinements and transform. */
function objectOf(schema: z.ZodType): AnyObject {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodPipe) return objectOf(schema.in as z.ZodType);
  throw new Error('a namespace schema is an object, perhaps refined and transformed');
}

/** Every key of every namespace, in declaration order. */
export function configKeys(): ConfigKey[] {
  return Object.entries(NAMESPACES).flatMap(([namespace, type]) =>
    Object.entries(objectOf(type.schema).shape).map(([field, schema]) => {
      const meta = metaOf(schema as z.ZodType);
      if (!meta) throw new Error(`${type.name}.${field} is not declared with key()`);
      return {
        env: meta.env,
        namespace: namespace as Namespace,
        className: type.name,
        field,
        schema: schema as z.ZodType,
      };
    }),
  );
}

/**
 * Builds the configuration from, in rising precedence: the defaults in the schema, the profile file
 * `config/<SNIP_PROFILE>.env`, and the environment. Reads `namespaces` only (default: all).
 * Throws a ConfigError naming each bad key. Reading has no side effect: the secret a local profile
 * generates is a start-up step of its own (`withLocalCodeSecret`).
 */
export function loadConfig<N extends Namespace = Namespace>(
  environment: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions<N> = {},
): SnipConfig<N> {
  const cwd = options.cwd ?? process.cwd();
  // Empty means unset, here as for every other variable.
  const profile = environment.SNIP_PROFILE || 'local';
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new ConfigError([`SNIP_PROFILE: "${profile}" is not one of ${PROFILES.join(', ')}`]);
  }
  const configDir = options.configDir ?? (environment.SNIP_CONFIG_DIR || join(cwd, 'config'));
  const profileFile = join(configDir, `${profile}.env`);
  const fromFile = existsSync(profileFile) ? parseDotenv(readFileSync(profileFile)) : {};

  const merged: Record<string, string> = {};
  // An empty value means "not set", in the profile file as in the environment (orchestrators
  // render unset values that way): it leaves the default, or the file's value, in place.
  for (const source of [fromFile, environment]) {
    for (const [key, value] of Object.entries(source)) {
      if (value !== undefined && value !== '') merged[key] = value;
    }
  }
  merged.SNIP_PROFILE = profile;

  const names: readonly Namespace[] = options.namespaces ?? (Object.keys(NAMESPACES) as N[]);
  // The click namespaces take the stream's key prefix from REDIS_KEY_PREFIX.
  const read = new Set(
    names.flatMap((n) => [n, ...(n === 'clicks' || n === 'worker' ? ['redis' as const] : [])]),
  );
  const keys = configKeys().filter((key) => read.has(key.namespace));
  const input: Record<string, Record<string, string | undefined>> = {};
  for (const { namespace, field, env } of keys) (input[namespace] ??= {})[field] = merged[env];
  const schema = z
    .object(Object.fromEntries([...read].map((n) => [n, NAMESPACES[n].schema])))
    .superRefine((config, ctx) => acrossNamespaces(config, input, profile as Profile, ctx));

  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const [namespace, field, ...rest] = issue.path.map(String);
        const env = keys.find((k) => k.namespace === namespace && k.field === field)?.env;
        const key = [env ?? namespace ?? '(root)', ...rest].join('.');
        const value = env === undefined ? undefined : merged[env];
        const shown = value === undefined || /SECRET|PASSWORD/.test(key) ? '' : ` (got "${value}")`;
        return `${key}: ${issue.message}${shown}`;
      }),
    );
  }
  const config = parsed.data as Partial<Parsed>;
  joinNamespaces(config);
  resolvePaths(config, keys, cwd);
  return Object.fromEntries(
    names.map((n) => [n, Object.assign(new NAMESPACES[n](), config[n])]),
  ) as SnipConfig<N>;
}

type Parsed = { -readonly [K in Namespace]: z.output<(typeof NAMESPACES)[K]['schema']> };

/** The values a namespace was given, by field, before its schema's defaults and transforms. */
type Given = Readonly<Record<string, Readonly<Record<string, string | undefined>>>>;

/**
 * Rules that span namespaces or depend on the profile, checked when the namespaces they concern
 * are read. `given` holds what was set, for a key whose schema fills in a default of its own.
 */
function acrossNamespaces(
  config: Partial<Parsed>,
  given: Given,
  profile: Profile,
  ctx: z.RefinementCtx,
): void {
  const { api, database, links, clicks, redis, edge, clickhouse } = config;
  if (profile === 'production') {
    if (database && !database.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'url'],
        message: 'is required in the production profile (the embedded database is for local use)',
      });
    }
    // The edge reads the redirect's keys of `links`, never the code secret.
    if (links && !(edge && !api) && !links.codeSecret) {
      ctx.addIssue({
        code: 'custom',
        path: ['links', 'codeSecret'],
        message: 'is required in the production profile (set it from your secret store)',
      });
    }
    // Its schema defaults it to http://localhost:$PORT, so whether it was set is in `given`.
    if (api && given.api?.publicBaseUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'publicBaseUrl'],
        message: 'is required in the production profile (it is the origin of every shortUrl)',
      });
    }
  }
  if (api && api.webConcurrency > 1) {
    // Each worker is a process of its own: see docs/operations.md "Several processes per machine".
    if (database && !database.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'webConcurrency'],
        message:
          'above 1 needs DATABASE_URL: the embedded database belongs to one process and cannot be shared',
      });
    }
    if (redis && !redis.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'webConcurrency'],
        message:
          "above 1 needs REDIS_URL: without it a link changed through one worker stays in the others' caches, and each worker counts rate limits alone",
      });
    }
  }
  // The edge's own load (`edge` without `api`): see apps/edge/src/config.ts.
  const edgeAlone = edge !== undefined && api === undefined;
  if (edgeAlone && redis && !redis.url) {
    ctx.addIssue({
      code: 'custom',
      path: ['redis', 'url'],
      message: 'is required by the edge: it reads the links the api caches in Redis',
    });
  }
  if (edgeAlone && clicks?.transport === 'inline') {
    ctx.addIssue({
      code: 'custom',
      path: ['clicks', 'transport'],
      message:
        'inline stores clicks in the api process and cannot serve the edge: set CLICKS_TRANSPORT to redis-streams or rmq',
    });
  }
  if (clickhouse?.sink === 'clickhouse' && database && !database.url) {
    ctx.addIssue({
      code: 'custom',
      path: ['clickhouse', 'sink'],
      message:
        'clickhouse needs DATABASE_URL: the embedded profile runs no external service (PostgreSQL keeps the totals beside ClickHouse)',
    });
  }
  if (clicks?.transport === 'redis-streams' && !clicks.redisUrl && !redis?.url) {
    ctx.addIssue({
      code: 'custom',
      path: ['clicks', 'transport'],
      message: 'redis-streams needs REDIS_URL (or CLICKS_REDIS_URL) as well',
    });
  }
}

/** Values one namespace takes from another: the click stream's Redis and key prefix. */
function joinNamespaces({ clicks, redis, worker }: Partial<Parsed>): void {
  const prefix = redis?.keyPrefix ?? '';
  if (clicks) {
    clicks.redisUrl ??= redis?.url;
    clicks.stream = `${prefix}${clicks.stream}`;
  }
  if (worker) worker.deadLetterStream = `${prefix}${worker.deadLetterStream}`;
}

/** Relative paths (DATA_DIR, URL_BLOCKLIST_FILE) resolved against the working directory. */
function resolvePaths(config: Partial<Parsed>, keys: readonly ConfigKey[], cwd: string): void {
  for (const { namespace, field, schema } of keys) {
    const values = config[namespace] as Record<string, unknown> | undefined;
    const path = values?.[field];
    if (metaOf(schema)?.path && typeof path === 'string' && !isAbsolute(path)) {
      values![field] = resolve(cwd, path);
    }
  }
}

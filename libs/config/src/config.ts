import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { envSchema, PROFILES, type Env, type Profile } from './config.schema';

/** HTTP server, public identity and request handling. */
export class AppConfig {
  readonly profile!: Profile;
  readonly port!: number;
  readonly host!: string;
  /** Origin used to build every `shortUrl`, without a trailing slash. */
  readonly publicBaseUrl!: string;
  readonly logLevel!: Env['LOG_LEVEL'];
  readonly redirectAccessLogSampleRate!: number;
  readonly bodyLimitBytes!: number;
  readonly maxUrlLength!: number;
  /** Longest a client may take to send a request's headers (Node `headersTimeout`). */
  readonly headersTimeoutMs!: number;
  /** Longest a client may take to send a whole request, body included (Node `requestTimeout`). */
  readonly requestTimeoutMs!: number;
  /** How long an idle keep-alive connection stays open (Node `keepAliveTimeout`). */
  readonly keepAliveTimeoutMs!: number;
  readonly shutdownGraceMs!: number;
  /** Between SIGTERM (readiness turns 503) and closing the listener, for load balancers to notice. */
  readonly shutdownDrainDelayMs!: number;
  readonly swaggerEnabled!: boolean;
}

/** Short codes, URL policy and redirect behaviour. */
export class LinksConfig {
  readonly codeLength!: number;
  readonly codeSecret!: string;
  readonly idBlockSize!: number;
  readonly urlMaxLength!: number;
  readonly reservedAliases!: readonly string[];
  readonly forwardQuery!: boolean;
  readonly permanentRedirectMaxAge!: number;
  /** Host names (host[:port] as configured) that reach snip, besides PUBLIC_BASE_URL's host. */
  readonly selfHosts!: readonly string[];
  /** Whether targets on loopback, private, link-local and other internal addresses are accepted. */
  readonly allowPrivateTargets!: boolean;
  /** Domains whose targets (the domain and its subdomains) are refused. */
  readonly blockedDomains!: readonly string[];
  /** File of further blocked domains, one a line, re-read when it changes; absolute path. */
  readonly blocklistFile?: string;
  readonly blocklistPollMs!: number;
}

/** PostgreSQL (or the embedded PGlite) and migrations. */
export class DatabaseConfig {
  /** `embedded` starts PGlite inside the process; `postgres` connects to `url`. */
  readonly mode!: 'embedded' | 'postgres';
  readonly url?: string;
  readonly replicaUrls!: readonly string[];
  readonly poolSize!: number;
  readonly connectTimeoutMs!: number;
  readonly statementTimeoutMs!: number;
  /**
   * Client-side bound of every query (node-postgres `query_timeout`): the server cannot enforce
   * anything while it is frozen or unreachable. 0 turns it off.
   */
  readonly queryTimeoutMs!: number;
  /** Idle time before TCP keepalive probes start on a database connection. */
  readonly keepAliveDelayMs!: number;
  readonly migrateOnBoot!: boolean;
  readonly dataDir!: string;
  readonly embeddedPort!: number;
}

/** Redis, shared by the cache, rate limits and the Redis Streams transport. Optional. */
export class RedisConfig {
  /** Unset in the embedded default: everything Redis would hold stays in process. */
  readonly url?: string;
  /** Prefix of every key snip writes, so one Redis can serve several deployments. */
  readonly keyPrefix!: string;
  readonly connectTimeoutMs!: number;
  /** Longest a single command may take before it fails (the hot path never waits longer). */
  readonly commandTimeoutMs!: number;
  /**
   * How often a Redis known to be down but still connected (frozen) is sent a PING, to learn that
   * it answers again; 0 leaves it down until its connection is re-established.
   */
  readonly probeIntervalMs!: number;
}

/** The two-tier link cache: in-process LRU (L1), then Redis (L2) when REDIS_URL is set. */
export class CacheConfig {
  /** Most links L1 holds; 0 turns L1 off. */
  readonly l1MaxEntries!: number;
  /** How long an L1 entry serves before it is read again from L2 or the database. */
  readonly l1TtlMs!: number;
  /** How long a link stays in Redis. */
  readonly l2TtlSeconds!: number;
  /** How long "no such code" is remembered, in L1 and L2. */
  readonly negativeTtlMs!: number;
}

/** API keys. */
export class AuthConfig {
  /** When true every /api/v1 route needs a valid X-Api-Key; when false a request without one acts as admin. */
  readonly required!: boolean;
}

/** Rate limits (per minute; 0 turns a limit off) and the proxies whose X-Forwarded-For is believed. */
export class ThrottleConfig {
  /** Requests per minute per API key on /api/v1. */
  readonly apiPerMinute!: number;
  /** Requests per minute per client IP on /api/v1 without a key. */
  readonly ipPerMinute!: number;
  /** Redirects per minute per client IP; 0 (the default) leaves redirects unlimited. */
  readonly redirectPerMinute!: number;
  /** Addresses or CIDR blocks of reverse proxies; X-Forwarded-For counts only from these peers. */
  readonly trustedProxies!: readonly string[];
  /** Clients on a loopback address (127.0.0.0/8, ::1) are not limited (the local profile). */
  readonly exemptLoopback!: boolean;
}

/** Click events: the transport, the publisher's buffer, the logs worker and IP anonymisation. */
export class ClicksConfig {
  /** `inline` ingests in the api process (the embedded default); otherwise a broker carries them. */
  readonly transport!: 'inline' | 'redis-streams' | 'rmq';
  /** Redis holding the click stream: CLICKS_REDIS_URL, else REDIS_URL (the cache's). */
  readonly redisUrl?: string;
  readonly rabbitmqUrl?: string;
  /** Events the publisher holds while the broker is slow or down; beyond it they are dropped. */
  readonly bufferMax!: number;
  readonly publishBatchSize!: number;
  readonly publishIntervalMs!: number;
  /** The logs worker's batch: flushed at `batchSize` events or `batchIntervalMs`. */
  readonly batchSize!: number;
  readonly batchIntervalMs!: number;
  /** Redis key of the stream (with REDIS_KEY_PREFIX). */
  readonly stream!: string;
  readonly streamMaxLen!: number;
  readonly deadLetterStream!: string;
  readonly consumerGroup!: string;
  readonly consumerName!: string;
  readonly claimIdleMs!: number;
  /** Deliveries after which an entry or message goes to the dead letter. */
  readonly maxDeliveries!: number;
  readonly queue!: string;
  readonly deadLetterQueue!: string;
  readonly queueType!: 'quorum' | 'classic';
  readonly prefetch!: number;
  readonly ipMode!: 'truncate' | 'hash' | 'drop' | 'raw';
  readonly ipHashKey?: string;
  readonly ipv4Prefix!: number;
  readonly ipv6Prefix!: number;
  readonly partitionsAheadDays!: number;
  /** HTTP port of the logs worker (health and metrics). */
  readonly logsPort!: number;
}

export interface SnipConfig {
  readonly app: AppConfig;
  readonly links: LinksConfig;
  readonly database: DatabaseConfig;
  readonly redis: RedisConfig;
  readonly clicks: ClicksConfig;
  readonly cache: CacheConfig;
  readonly auth: AuthConfig;
  readonly throttle: ThrottleConfig;
}

/** Raised when configuration is invalid; the message names every bad key and its problem. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Folder of the `<profile>.env` files; default SNIP_CONFIG_DIR, else `config/` in the cwd. */
  readonly configDir?: string;
  /** Working directory that relative paths (DATA_DIR) resolve against. */
  readonly cwd?: string;
}

const SECRET_FILE = 'short-code-secret';

/**
 * Builds the configuration from, in rising precedence: the defaults in the schema, the profile file
 * `config/<SNIP_PROFILE>.env`, and the environment. Throws a ConfigError naming each bad key.
 */
export function loadConfig(
  environment: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions = {},
): SnipConfig {
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

  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        const value = typeof issue.path[0] === 'string' ? merged[issue.path[0]] : undefined;
        const shown = value === undefined || key.includes('SECRET') ? '' : ` (got "${value}")`;
        return `${key}: ${issue.message}${shown}`;
      }),
    );
  }
  return toConfig(parsed.data, cwd);
}

function toConfig(env: Env, cwd: string): SnipConfig {
  const dataDir = isAbsolute(env.DATA_DIR) ? env.DATA_DIR : resolve(cwd, env.DATA_DIR);
  const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const app: AppConfig = Object.assign(new AppConfig(), {
    profile: env.SNIP_PROFILE,
    port: env.PORT,
    host: env.HOST,
    publicBaseUrl,
    logLevel: env.LOG_LEVEL,
    redirectAccessLogSampleRate: env.REDIRECT_ACCESS_LOG_SAMPLE_RATE,
    bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
    maxUrlLength: env.HTTP_MAX_URL_LENGTH,
    headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    shutdownDrainDelayMs: env.SHUTDOWN_DRAIN_DELAY_MS,
    swaggerEnabled: env.SWAGGER_ENABLED,
  });
  const links: LinksConfig = Object.assign(new LinksConfig(), {
    codeLength: env.SHORT_CODE_LENGTH,
    codeSecret: env.SHORT_CODE_SECRET ?? localSecret(dataDir),
    idBlockSize: env.LINK_ID_BLOCK_SIZE,
    urlMaxLength: env.URL_MAX_LENGTH,
    reservedAliases: env.RESERVED_ALIASES,
    forwardQuery: env.REDIRECT_FORWARD_QUERY,
    permanentRedirectMaxAge: env.REDIRECT_PERMANENT_MAX_AGE,
    selfHosts: env.SELF_HOSTS,
    allowPrivateTargets: env.URL_ALLOW_PRIVATE_TARGETS,
    blockedDomains: env.URL_BLOCKED_DOMAINS,
    blocklistFile:
      env.URL_BLOCKLIST_FILE === undefined || isAbsolute(env.URL_BLOCKLIST_FILE)
        ? env.URL_BLOCKLIST_FILE
        : resolve(cwd, env.URL_BLOCKLIST_FILE),
    blocklistPollMs: env.URL_BLOCKLIST_POLL_MS,
  });
  const database: DatabaseConfig = Object.assign(new DatabaseConfig(), {
    mode: env.DATABASE_URL ? 'postgres' : 'embedded',
    url: env.DATABASE_URL,
    replicaUrls: env.DATABASE_REPLICA_URLS,
    poolSize: env.DATABASE_POOL_SIZE,
    connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
    queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS,
    keepAliveDelayMs: env.DATABASE_KEEPALIVE_DELAY_MS,
    migrateOnBoot: env.DATABASE_MIGRATE_ON_BOOT,
    dataDir,
    embeddedPort: env.EMBEDDED_DB_PORT,
  });
  const redis: RedisConfig = Object.assign(new RedisConfig(), {
    url: env.REDIS_URL,
    keyPrefix: env.REDIS_KEY_PREFIX,
    connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    probeIntervalMs: env.REDIS_PROBE_INTERVAL_MS,
  });
  const clicks: ClicksConfig = Object.assign(new ClicksConfig(), {
    transport: env.CLICKS_TRANSPORT,
    redisUrl: env.CLICKS_REDIS_URL ?? env.REDIS_URL,
    rabbitmqUrl: env.RABBITMQ_URL,
    bufferMax: env.CLICKS_BUFFER_MAX,
    publishBatchSize: env.CLICKS_PUBLISH_BATCH_SIZE,
    publishIntervalMs: env.CLICKS_PUBLISH_INTERVAL_MS,
    batchSize: env.CLICKS_BATCH_SIZE,
    batchIntervalMs: env.CLICKS_BATCH_INTERVAL_MS,
    stream: `${env.REDIS_KEY_PREFIX}${env.CLICKS_STREAM}`,
    streamMaxLen: env.CLICKS_STREAM_MAXLEN,
    deadLetterStream: `${env.REDIS_KEY_PREFIX}${env.CLICKS_DEAD_LETTER_STREAM}`,
    consumerGroup: env.CLICKS_CONSUMER_GROUP,
    consumerName: env.CLICKS_CONSUMER_NAME ?? `${hostname()}-${process.pid}`,
    claimIdleMs: env.CLICKS_CLAIM_IDLE_MS,
    maxDeliveries: env.CLICKS_MAX_DELIVERIES,
    queue: env.CLICKS_QUEUE,
    deadLetterQueue: env.CLICKS_DEAD_LETTER_QUEUE,
    queueType: env.CLICKS_RMQ_QUEUE_TYPE,
    prefetch: env.CLICKS_RMQ_PREFETCH,
    ipMode: env.CLICKS_IP_MODE,
    ipHashKey: env.CLICKS_IP_HASH_KEY,
    ipv4Prefix: env.CLICKS_IPV4_PREFIX,
    ipv6Prefix: env.CLICKS_IPV6_PREFIX,
    partitionsAheadDays: env.CLICKS_PARTITIONS_AHEAD_DAYS,
    logsPort: env.LOGS_PORT,
  });
  const cache: CacheConfig = Object.assign(new CacheConfig(), {
    l1MaxEntries: env.CACHE_L1_MAX_ENTRIES,
    l1TtlMs: env.CACHE_L1_TTL_MS,
    l2TtlSeconds: env.CACHE_L2_TTL_S,
    negativeTtlMs: env.CACHE_NEGATIVE_TTL_MS,
  });
  const auth: AuthConfig = Object.assign(new AuthConfig(), { required: env.AUTH_REQUIRED });
  const throttle: ThrottleConfig = Object.assign(new ThrottleConfig(), {
    apiPerMinute: env.RATE_LIMIT_API_PER_MIN,
    ipPerMinute: env.RATE_LIMIT_IP_PER_MIN,
    redirectPerMinute: env.REDIRECT_RATE_LIMIT_PER_MIN,
    trustedProxies: env.TRUSTED_PROXIES,
    exemptLoopback: env.RATE_LIMIT_EXEMPT_LOOPBACK,
  });
  return { app, links, database, redis, clicks, cache, auth, throttle };
}

/**
 * Outside production a missing SHORT_CODE_SECRET is generated once and kept in DATA_DIR, so codes
 * stay stable across restarts without anyone having to invent a secret to try snip out.
 */
function localSecret(dataDir: string): string {
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';

export const PROFILES = ['local', 'development', 'test', 'production'] as const;
export type Profile = (typeof PROFILES)[number];

/** What the loader knows of a key besides its schema: where it comes from, what it is. */
interface KeyMeta {
  /** The environment variable (and profile file key) that sets it. */
  readonly env: string;
  /** A file system path, resolved against the working directory after parsing. */
  readonly path?: boolean;
}

const keyMeta = z.registry<KeyMeta>();

/**
 * A configuration key: the environment variable `env`, parsed by `schema`. Values arrive as
 * strings from the profile file and the environment; the schema's default applies when neither
 * sets the key.
 */
function key<S extends z.ZodType>(env: string, schema: S, meta: Omit<KeyMeta, 'env'> = {}): S {
  if (keyMeta.has(schema)) throw new Error(`${env}: give each key a schema of its own`);
  keyMeta.add(schema, { env, ...meta });
  return schema;
}

/** The environment variable and flags of a field schema made by `key`. */
export function metaOf(schema: z.ZodType): KeyMeta | undefined {
  return keyMeta.get(schema);
}

const bool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const num = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: 'expected a number' })
    .transform(Number)
    .pipe(z.number().min(min).max(max));

/** A number of processes: 1 to `max`, or `auto` (the cores Node may use, at most `max`). */
const processCount = (max: number) =>
  z.string().transform((value, ctx) => {
    if (value === 'auto') return Math.min(availableParallelism(), max);
    const count = /^\d+$/.test(value) ? Number(value) : NaN;
    if (count >= 1 && count <= max) return count;
    ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, or auto` });
    return z.NEVER;
  });

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' });
const postgresUrl = () =>
  z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' });
const redisUrl = () =>
  z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' });
const name = () => z.string().min(1).max(200);
const secret = () => z.string().min(16, { error: 'must be at least 16 characters' });

const list = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

/** `host`, `host:port` or an origin such as `https://go.example`: nothing more. */
function isHostEntry(entry: string): boolean {
  try {
    const url = new URL(entry.includes('://') ? entry : `http://${entry}`);
    return url.hostname !== '' && url.pathname === '/' && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
}

/** An IPv4 or IPv6 address, or a CIDR block such as 10.0.0.0/8 or fd00::/8. */
const isCidr = (value: string): boolean => {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
};

/**
 * The injectable class of a namespace, its instance type derived from the namespace's schema: the
 * schema is the one place a key is declared. `new` makes an empty instance; the loader fills it.
 */
function configClass<S extends z.ZodType<object>>(schema: S) {
  class Namespace {
    static readonly schema = schema;
  }
  return Namespace as unknown as { new (): Readonly<z.output<S>>; readonly schema: S };
}

/** The process and its HTTP server: what both apps read. */
const appSchema = z
  .object({
    profile: key('SNIP_PROFILE', z.enum(PROFILES)),
    /** Folder of the `<profile>.env` files; read from the environment before everything else. */
    configDir: key('SNIP_CONFIG_DIR', z.string().optional()),
    host: key('HOST', z.string().min(1).default('0.0.0.0')),
    logLevel: key(
      'LOG_LEVEL',
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    bodyLimitBytes: key('HTTP_BODY_LIMIT_BYTES', int(1024, 10 * 1024 * 1024).default(16 * 1024)),
    maxUrlLength: key('HTTP_MAX_URL_LENGTH', int(256, 65536).default(8192)),
    /** Longest a client may take to send a request's headers (Node `headersTimeout`). */
    headersTimeoutMs: key('HTTP_HEADERS_TIMEOUT_MS', int(100, 600_000).default(10_000)),
    /** Longest a client may take to send a whole request, body included (Node `requestTimeout`). */
    requestTimeoutMs: key('HTTP_REQUEST_TIMEOUT_MS', int(100, 3_600_000).default(30_000)),
    /** How long an idle keep-alive connection stays open (Node `keepAliveTimeout`). */
    keepAliveTimeoutMs: key('HTTP_KEEP_ALIVE_TIMEOUT_MS', int(100, 3_600_000).default(72_000)),
    shutdownGraceMs: key('SHUTDOWN_GRACE_MS', int(0, 600_000).default(10_000)),
    /** Between SIGTERM (readiness turns 503) and closing the listener, for load balancers to notice. */
    shutdownDrainDelayMs: key('SHUTDOWN_DRAIN_DELAY_MS', int(0, 600_000).default(0)),
  })
  .superRefine((app, ctx) => {
    if (app.headersTimeoutMs > app.requestTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['headersTimeoutMs'],
        message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
      });
    }
    if (app.shutdownDrainDelayMs > 0 && app.shutdownDrainDelayMs >= app.shutdownGraceMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['shutdownDrainDelayMs'],
        message: 'must be shorter than SHUTDOWN_GRACE_MS (the grace period includes the delay)',
      });
    }
  });
export class AppConfig extends configClass(appSchema) {}

/**
 * The api's HTTP server: its port, its public origin, redirect access logs and Swagger. Read by the
 * api only. That production needs PUBLIC_BASE_URL is a rule of the loader, which knows the profile.
 */
const apiServerSchema = z
  .object({
    port: key('PORT', int(0, 65535).default(3000)),
    /** Origin used to build every `shortUrl`, without a trailing slash. */
    publicBaseUrl: key('PUBLIC_BASE_URL', httpUrl().optional()),
    redirectAccessLogSampleRate: key('REDIRECT_ACCESS_LOG_SAMPLE_RATE', num(0, 1).default(0)),
    swaggerEnabled: key('SWAGGER_ENABLED', bool().default(true)),
    /** Processes serving the one port (node:cluster); above 1 needs DATABASE_URL and REDIS_URL. */
    webConcurrency: key('WEB_CONCURRENCY', processCount(64).default(1)),
  })
  .transform((api) => ({
    ...api,
    publicBaseUrl: (api.publicBaseUrl ?? `http://localhost:${api.port}`).replace(/\/+$/, ''),
  }));
export class ApiServerConfig extends configClass(apiServerSchema) {}

/** Short codes, URL policy and redirect behaviour. Read by the api. */
const linksSchema = z.object({
  codeLength: key('SHORT_CODE_LENGTH', int(5, 11).default(7)),
  /**
   * Key of the code permutation. Unset outside production until start-up provides the one kept
   * in DATA_DIR (`withLocalCodeSecret`); loading the configuration never writes it.
   */
  codeSecret: key('SHORT_CODE_SECRET', secret().optional()),
  idBlockSize: key('LINK_ID_BLOCK_SIZE', int(1, 10_000).default(100)),
  urlMaxLength: key('URL_MAX_LENGTH', int(32, 32_768).default(2048)),
  reservedAliases: key('RESERVED_ALIASES', list().default([])),
  forwardQuery: key('REDIRECT_FORWARD_QUERY', bool().default(true)),
  permanentRedirectMaxAge: key('REDIRECT_PERMANENT_MAX_AGE', int(0, 31_536_000).default(0)),
  /** Host names (host[:port] as configured) that reach snip, besides PUBLIC_BASE_URL's host. */
  selfHosts: key(
    'SELF_HOSTS',
    list()
      .superRefine((hosts, ctx) => {
        for (const host of hosts.filter((entry) => !isHostEntry(entry))) {
          ctx.addIssue({ code: 'custom', message: `"${host}" is not a host, host:port or origin` });
        }
      })
      .default([]),
  ),
  /** Whether targets on loopback, private, link-local and other internal addresses are accepted. */
  allowPrivateTargets: key('URL_ALLOW_PRIVATE_TARGETS', bool().default(false)),
  /** Domains whose targets (the domain and its subdomains) are refused. */
  blockedDomains: key('URL_BLOCKED_DOMAINS', list().default([])),
  /** File of further blocked domains, one a line, re-read when it changes; absolute path. */
  blocklistFile: key('URL_BLOCKLIST_FILE', z.string().min(1).optional(), { path: true }),
  blocklistPollMs: key('URL_BLOCKLIST_POLL_MS', int(100, 3_600_000).default(5000)),
});
export class LinksConfig extends configClass(linksSchema) {}

/** PostgreSQL (or the embedded PGlite) and migrations. Read by both apps. */
const databaseSchema = z
  .object({
    url: key('DATABASE_URL', postgresUrl().optional()),
    replicaUrls: key('DATABASE_REPLICA_URLS', list().pipe(z.array(postgresUrl())).default([])),
    /**
     * A replica that could not be reached serves no reads for this long; it is probed this often
     * meanwhile and used again once it answers (reads go to the primary until then).
     */
    replicaRetryMs: key('DATABASE_REPLICA_RETRY_MS', int(100, 600_000).default(5000)),
    poolSize: key('DATABASE_POOL_SIZE', int(1, 500).default(10)),
    connectTimeoutMs: key('DATABASE_CONNECT_TIMEOUT_MS', int(100, 120_000).default(5000)),
    statementTimeoutMs: key('DATABASE_STATEMENT_TIMEOUT_MS', int(0, 3_600_000).default(0)),
    /**
     * Client-side bound of every query (node-postgres `query_timeout`): the server cannot enforce
     * anything while it is frozen or unreachable. 0 turns it off.
     */
    queryTimeoutMs: key('DATABASE_QUERY_TIMEOUT_MS', int(0, 3_600_000).default(5000)),
    /** Idle time before TCP keepalive probes start on a database connection. */
    keepAliveDelayMs: key('DATABASE_KEEPALIVE_DELAY_MS', int(1000, 3_600_000).default(10_000)),
    migrateOnBoot: key('DATABASE_MIGRATE_ON_BOOT', bool().default(false)),
    /** Absolute path. */
    dataDir: key('DATA_DIR', z.string().min(1).default('./data'), { path: true }),
    embeddedPort: key('EMBEDDED_DB_PORT', int(0, 65535).default(0)),
  })
  .superRefine((database, ctx) => {
    if (database.replicaUrls.length > 0 && !database.url) {
      ctx.addIssue({
        code: 'custom',
        path: ['replicaUrls'],
        message: 'needs DATABASE_URL (the primary) as well',
      });
    }
  })
  .transform((database) => ({
    ...database,
    /** `embedded` starts PGlite inside the process; `postgres` connects to `url`. */
    mode: database.url ? ('postgres' as const) : ('embedded' as const),
  }));
export class DatabaseConfig extends configClass(databaseSchema) {}

/** Redis, shared by the cache, rate limits and the Redis Streams transport. Optional. */
const redisSchema = z.object({
  /** Unset in the embedded default: everything Redis would hold stays in process. */
  url: key('REDIS_URL', redisUrl().optional()),
  /** Prefix of every key snip writes, so one Redis can serve several deployments. */
  keyPrefix: key('REDIS_KEY_PREFIX', z.string().max(64).default('snip:')),
  connectTimeoutMs: key('REDIS_CONNECT_TIMEOUT_MS', int(100, 120_000).default(5000)),
  /** Longest a single command may take before it fails (the hot path never waits longer). */
  commandTimeoutMs: key('REDIS_COMMAND_TIMEOUT_MS', int(10, 120_000).default(1000)),
  /**
   * How often a Redis known to be down but still connected (frozen) is sent a PING, to learn that
   * it answers again; 0 leaves it down until its connection is re-established.
   */
  probeIntervalMs: key('REDIS_PROBE_INTERVAL_MS', int(0, 600_000).default(1000)),
});
export class RedisConfig extends configClass(redisSchema) {}

/** The two-tier link cache: in-process LRU (L1), then Redis (L2) when REDIS_URL is set. */
const cacheSchema = z.object({
  /** Most links L1 holds; 0 turns L1 off. */
  l1MaxEntries: key('CACHE_L1_MAX_ENTRIES', int(0, 10_000_000).default(10_000)),
  /** How long an L1 entry serves before it is read again from L2 or the database. */
  l1TtlMs: key('CACHE_L1_TTL_MS', int(1, 3_600_000).default(5000)),
  /** How long a link stays in Redis. */
  l2TtlSeconds: key('CACHE_L2_TTL_S', int(1, 31_536_000).default(86_400)),
  /** How long "no such code" is remembered, in L1 and L2. */
  negativeTtlMs: key('CACHE_NEGATIVE_TTL_MS', int(1, 3_600_000).default(10_000)),
  /**
   * Stale-if-error: how long past its L1 TTL a link may still be served when the database cannot
   * be reached to read it again; 0 turns it off.
   */
  staleIfErrorMs: key('CACHE_STALE_IF_ERROR_MS', int(0, 86_400_000).default(3_600_000)),
  /**
   * A starting api loads the links with the most clicks in the last 24 hours, this many, into its
   * L1 (from L2, else the database) before it listens; 0 turns it off.
   */
  warmOnBootTop: key('CACHE_WARM_ON_BOOT_TOP', int(0, 100_000).default(0)),
  /** Longest the boot warm-up may hold start-up; then the api starts with what it loaded. */
  warmOnBootTimeoutMs: key('CACHE_WARM_ON_BOOT_TIMEOUT_MS', int(100, 600_000).default(10_000)),
});
export class CacheConfig extends configClass(cacheSchema) {}

/** API keys. */
const authSchema = z.object({
  /** When true every /api/v1 route needs a valid X-Api-Key; when false a request without one acts as admin. */
  required: key('AUTH_REQUIRED', bool().default(false)),
});
export class AuthConfig extends configClass(authSchema) {}

/** Rate limits (per minute; 0 turns a limit off) and the proxies whose X-Forwarded-For is believed. */
const throttleSchema = z.object({
  /** Requests per minute per API key on /api/v1. */
  apiPerMinute: key('RATE_LIMIT_API_PER_MIN', int(0, 10_000_000).default(600)),
  /** Requests per minute per client IP on /api/v1 without a key. */
  ipPerMinute: key('RATE_LIMIT_IP_PER_MIN', int(0, 10_000_000).default(300)),
  /** Redirects per minute per client IP; 0 (the default) leaves redirects unlimited. */
  redirectPerMinute: key('REDIRECT_RATE_LIMIT_PER_MIN', int(0, 10_000_000).default(0)),
  /** Clients on a loopback address (127.0.0.0/8, ::1) are not limited (the local profile). */
  exemptLoopback: key('RATE_LIMIT_EXEMPT_LOOPBACK', bool().default(false)),
  /** Addresses or CIDR blocks of reverse proxies; X-Forwarded-For counts only from these peers. */
  trustedProxies: key(
    'TRUSTED_PROXIES',
    list()
      .pipe(
        z.array(
          z
            .string()
            .refine(isCidr, { error: 'expected IP addresses or CIDR blocks, comma-separated' }),
        ),
      )
      .default([]),
  ),
});
export class ThrottleConfig extends configClass(throttleSchema) {}

/** The click transport, which the api's publisher and the logs worker's consumer share. */
const clicksSchema = z
  .object({
    /** `inline` ingests in the api process (the embedded default); otherwise a broker carries them. */
    transport: key(
      'CLICKS_TRANSPORT',
      z.enum(['inline', 'redis-streams', 'rmq']).default('inline'),
    ),
    /** Redis holding the click stream: CLICKS_REDIS_URL, else REDIS_URL (the cache's). */
    redisUrl: key('CLICKS_REDIS_URL', redisUrl().optional()),
    rabbitmqUrl: key(
      'RABBITMQ_URL',
      z.url({ protocol: /^amqps?$/, error: 'expected an amqp:// or amqps:// URL' }).optional(),
    ),
    /** Redis key of the stream (with REDIS_KEY_PREFIX). */
    stream: key('CLICKS_STREAM', name().default('clicks')),
    streamMaxLen: key('CLICKS_STREAM_MAXLEN', int(1000, 1_000_000_000).default(1_000_000)),
    /** Deliveries after which an entry or message goes to the dead letter. */
    maxDeliveries: key('CLICKS_MAX_DELIVERIES', int(1, 1000).default(5)),
    queue: key('CLICKS_QUEUE', name().default('clicks')),
    deadLetterQueue: key('CLICKS_DEAD_LETTER_QUEUE', name().default('clicks.dead')),
    queueType: key('CLICKS_RMQ_QUEUE_TYPE', z.enum(['quorum', 'classic']).default('quorum')),
  })
  .superRefine((clicks, ctx) => {
    if (clicks.transport === 'rmq' && !clicks.rabbitmqUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['transport'],
        message: 'rmq needs RABBITMQ_URL as well',
      });
    }
  });
export class ClicksConfig extends configClass(clicksSchema) {}

/** What the api does with each click: anonymise the address, buffer, publish in batches. */
const clickPublisherSchema = z
  .object({
    /** Events the publisher holds while the broker is slow or down; beyond it they are dropped. */
    bufferMax: key('CLICKS_BUFFER_MAX', int(1, 10_000_000).default(100_000)),
    publishBatchSize: key('CLICKS_PUBLISH_BATCH_SIZE', int(1, 10_000).default(500)),
    publishIntervalMs: key('CLICKS_PUBLISH_INTERVAL_MS', int(1, 60_000).default(50)),
    ipMode: key('CLICKS_IP_MODE', z.enum(['truncate', 'hash', 'drop', 'raw']).default('truncate')),
    ipHashKey: key('CLICKS_IP_HASH_KEY', secret().optional()),
    ipv4Prefix: key('CLICKS_IPV4_PREFIX', int(0, 32).default(24)),
    ipv6Prefix: key('CLICKS_IPV6_PREFIX', int(0, 128).default(48)),
  })
  .superRefine((publisher, ctx) => {
    if (publisher.ipMode === 'hash' && !publisher.ipHashKey) {
      ctx.addIssue({
        code: 'custom',
        path: ['ipHashKey'],
        message: 'is required when CLICKS_IP_MODE=hash (the key of the HMAC over addresses)',
      });
    }
  });
export class ClickPublisherConfig extends configClass(clickPublisherSchema) {}

/**
 * Where clicks are stored: the logs worker, or the api itself with the `inline` transport. Events
 * are stored in batches of `batchSize`, or after `batchIntervalMs`.
 */
const clickIngestSchema = z.object({
  batchSize: key('CLICKS_BATCH_SIZE', int(1, 10_000).default(1000)),
  batchIntervalMs: key('CLICKS_BATCH_INTERVAL_MS', int(1, 60_000).default(200)),
  partitionsAheadDays: key('CLICKS_PARTITIONS_AHEAD_DAYS', int(1, 366).default(7)),
  /**
   * Days of raw clicks kept (0: forever). Older day partitions are dropped by the logs worker
   * (every `retentionIntervalMs`) or `clicks:prune`; rollups and totals stay. Events older than
   * the window are acknowledged without being stored.
   */
  retentionDays: key('CLICKS_RETENTION_DAYS', int(0, 36_500).default(0)),
  retentionIntervalMs: key(
    'CLICKS_RETENTION_INTERVAL_MS',
    int(60_000, 86_400_000).default(3_600_000),
  ),
});
export class ClickIngestConfig extends configClass(clickIngestSchema) {}

/**
 * Where the wide click rows go. `postgres` (the default) keeps everything in PostgreSQL's `clicks`.
 * `clickhouse` writes the enriched rows to ClickHouse and only a receipt of each click (id, day,
 * link, bot flag) to PostgreSQL, which keeps the exactly-once totals (see decision 48).
 */
const clickhouseSchema = z.object({
  sink: key('CLICKS_SINK', z.enum(['postgres', 'clickhouse']).default('postgres')),
  /** ClickHouse's HTTP interface, such as http://127.0.0.1:8123. */
  url: key('CLICKHOUSE_URL', httpUrl().default('http://127.0.0.1:8123')),
  database: key(
    'CLICKHOUSE_DATABASE',
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, { error: 'expected a plain identifier' })
      .default('snip'),
  ),
  user: key('CLICKHOUSE_USER', name().default('default')),
  password: key('CLICKHOUSE_PASSWORD', z.string().optional()),
  /** Longest one ClickHouse request (insert or query) may take before it fails and is retried. */
  timeoutMs: key('CLICKHOUSE_TIMEOUT_MS', int(100, 600_000).default(10_000)),
});
export class ClickHouseConfig extends configClass(clickhouseSchema) {}

/** The logs worker: its place in the consumer group, dead letters, prefetch and HTTP port. */
const workerSchema = z
  .object({
    /** Redis key of the dead-letter stream (with REDIS_KEY_PREFIX). */
    deadLetterStream: key('CLICKS_DEAD_LETTER_STREAM', name().default('clicks:dead')),
    consumerGroup: key('CLICKS_CONSUMER_GROUP', name().default('logs')),
    consumerName: key('CLICKS_CONSUMER_NAME', name().optional()),
    claimIdleMs: key('CLICKS_CLAIM_IDLE_MS', int(100, 86_400_000).default(30_000)),
    prefetch: key('CLICKS_RMQ_PREFETCH', int(1, 65_535).default(2000)),
    /** HTTP port of the logs worker (health and metrics). */
    port: key('LOGS_PORT', int(0, 65535).default(3001)),
  })
  .transform((worker) => ({
    ...worker,
    consumerName: worker.consumerName ?? `${hostname()}-${process.pid}`,
  }));
class WorkerConfig extends configClass(workerSchema) {}

/**
 * The edge redirector (apps/edge): its port, and the api it sends everything else to over a pool
 * of keep-alive connections.
 */
const edgeSchema = z.object({
  port: key('EDGE_PORT', int(0, 65535).default(3002)),
  /** The api (or a load balancer in front of its instances), origin only. */
  upstreamUrl: key('EDGE_UPSTREAM_URL', httpUrl().default('http://127.0.0.1:3000')),
  /** Longest wait for a connection to the upstream; then 503 UPSTREAM_UNAVAILABLE. */
  upstreamConnectTimeoutMs: key('EDGE_UPSTREAM_CONNECT_TIMEOUT_MS', int(10, 60_000).default(1000)),
  /** Longest wait for the upstream's response headers, once the request is sent; then 504. */
  upstreamTimeoutMs: key('EDGE_UPSTREAM_TIMEOUT_MS', int(10, 600_000).default(10_000)),
  /** Most connections open to the upstream at once (the keep-alive pool's size). */
  upstreamMaxSockets: key('EDGE_UPSTREAM_MAX_SOCKETS', int(1, 65_535).default(256)),
});
class EdgeConfig extends configClass(edgeSchema) {}

/** Every namespace by its name in a loaded configuration. */
export const NAMESPACES = {
  app: AppConfig,
  api: ApiServerConfig,
  links: LinksConfig,
  database: DatabaseConfig,
  redis: RedisConfig,
  cache: CacheConfig,
  auth: AuthConfig,
  throttle: ThrottleConfig,
  clicks: ClicksConfig,
  clickPublisher: ClickPublisherConfig,
  clickIngest: ClickIngestConfig,
  clickhouse: ClickHouseConfig,
  worker: WorkerConfig,
  edge: EdgeConfig,
};
export type Namespace = keyof typeof NAMESPACES;

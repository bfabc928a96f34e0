import { isIP } from 'node:net';
import { z } from 'zod';

export const PROFILES = ['local', 'development', 'test', 'production'] as const;
export type Profile = (typeof PROFILES)[number];

const bool = z
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

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' });
const postgresUrl = z.url({
  protocol: /^postgres(ql)?$/,
  error: 'expected a postgres:// or postgresql:// URL',
});

const list = z.string().transform((v) =>
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

const hostList = list.superRefine((hosts, ctx) => {
  for (const host of hosts.filter((entry) => !isHostEntry(entry))) {
    ctx.addIssue({ code: 'custom', message: `"${host}" is not a host, host:port or origin` });
  }
});

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
 * Every variable snip reads, by its environment name. Values arrive as strings from the profile
 * file and the environment; defaults here apply when neither sets a key.
 */
export const envSchema = z
  .object({
    SNIP_PROFILE: z.enum(PROFILES),
    SNIP_CONFIG_DIR: z.string().optional(),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    PUBLIC_BASE_URL: httpUrl.optional(),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    REDIRECT_ACCESS_LOG_SAMPLE_RATE: num(0, 1).default(0),
    HTTP_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(16 * 1024),
    HTTP_MAX_URL_LENGTH: int(256, 65536).default(8192),
    HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 3_600_000).default(72_000),
    SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
    SHUTDOWN_DRAIN_DELAY_MS: int(0, 600_000).default(0),
    SWAGGER_ENABLED: bool.default(true),

    SHORT_CODE_LENGTH: int(5, 11).default(7),
    SHORT_CODE_SECRET: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    LINK_ID_BLOCK_SIZE: int(1, 10_000).default(100),
    URL_MAX_LENGTH: int(32, 32_768).default(2048),
    RESERVED_ALIASES: list.default([]),
    REDIRECT_FORWARD_QUERY: bool.default(true),
    REDIRECT_PERMANENT_MAX_AGE: int(0, 31_536_000).default(0),
    SELF_HOSTS: hostList.default([]),
    URL_ALLOW_PRIVATE_TARGETS: bool.default(false),
    URL_BLOCKED_DOMAINS: list.default([]),
    URL_BLOCKLIST_FILE: z.string().min(1).optional(),
    URL_BLOCKLIST_POLL_MS: int(100, 3_600_000).default(5000),

    DATABASE_URL: postgresUrl.optional(),
    DATABASE_REPLICA_URLS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      )
      .pipe(z.array(postgresUrl))
      .default([]),
    DATABASE_POOL_SIZE: int(1, 500).default(10),
    DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5000),
    DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3_600_000).default(0),
    DATABASE_QUERY_TIMEOUT_MS: int(0, 3_600_000).default(5000),
    DATABASE_KEEPALIVE_DELAY_MS: int(1000, 3_600_000).default(10_000),
    DATABASE_MIGRATE_ON_BOOT: bool.default(false),
    DATA_DIR: z.string().min(1).default('./data'),
    EMBEDDED_DB_PORT: int(0, 65535).default(0),

    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
      .optional(),
    REDIS_KEY_PREFIX: z.string().max(64).default('snip:'),
    REDIS_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5000),
    REDIS_COMMAND_TIMEOUT_MS: int(10, 120_000).default(1000),
    REDIS_PROBE_INTERVAL_MS: int(0, 600_000).default(1000),

    CLICKS_TRANSPORT: z.enum(['inline', 'redis-streams', 'rmq']).default('inline'),
    CLICKS_REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
      .optional(),
    RABBITMQ_URL: z
      .url({ protocol: /^amqps?$/, error: 'expected an amqp:// or amqps:// URL' })
      .optional(),
    CLICKS_BUFFER_MAX: int(1, 10_000_000).default(100_000),
    CLICKS_PUBLISH_BATCH_SIZE: int(1, 10_000).default(500),
    CLICKS_PUBLISH_INTERVAL_MS: int(1, 60_000).default(50),
    CLICKS_BATCH_SIZE: int(1, 10_000).default(1000),
    CLICKS_BATCH_INTERVAL_MS: int(1, 60_000).default(200),
    CLICKS_STREAM: z.string().min(1).max(200).default('clicks'),
    CLICKS_STREAM_MAXLEN: int(1000, 1_000_000_000).default(1_000_000),
    CLICKS_DEAD_LETTER_STREAM: z.string().min(1).max(200).default('clicks:dead'),
    CLICKS_CONSUMER_GROUP: z.string().min(1).max(200).default('logs'),
    CLICKS_CONSUMER_NAME: z.string().min(1).max(200).optional(),
    CLICKS_CLAIM_IDLE_MS: int(100, 86_400_000).default(30_000),
    CLICKS_MAX_DELIVERIES: int(1, 1000).default(5),
    CLICKS_QUEUE: z.string().min(1).max(200).default('clicks'),
    CLICKS_DEAD_LETTER_QUEUE: z.string().min(1).max(200).default('clicks.dead'),
    CLICKS_RMQ_QUEUE_TYPE: z.enum(['quorum', 'classic']).default('quorum'),
    CLICKS_RMQ_PREFETCH: int(1, 65_535).default(2000),
    CLICKS_IP_MODE: z.enum(['truncate', 'hash', 'drop', 'raw']).default('truncate'),
    CLICKS_IP_HASH_KEY: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
    CLICKS_IPV4_PREFIX: int(0, 32).default(24),
    CLICKS_IPV6_PREFIX: int(0, 128).default(48),
    CLICKS_PARTITIONS_AHEAD_DAYS: int(1, 366).default(7),
    LOGS_PORT: int(0, 65535).default(3001),

    CACHE_L1_MAX_ENTRIES: int(0, 10_000_000).default(10_000),
    CACHE_L1_TTL_MS: int(1, 3_600_000).default(5000),
    CACHE_L2_TTL_S: int(1, 31_536_000).default(86_400),
    CACHE_NEGATIVE_TTL_MS: int(1, 3_600_000).default(10_000),

    AUTH_REQUIRED: bool.default(false),

    RATE_LIMIT_API_PER_MIN: int(0, 10_000_000).default(600),
    RATE_LIMIT_IP_PER_MIN: int(0, 10_000_000).default(300),
    REDIRECT_RATE_LIMIT_PER_MIN: int(0, 10_000_000).default(0),
    RATE_LIMIT_EXEMPT_LOOPBACK: bool.default(false),
    TRUSTED_PROXIES: list
      .pipe(
        z.array(
          z
            .string()
            .refine(isCidr, { error: 'expected IP addresses or CIDR blocks, comma-separated' }),
        ),
      )
      .default([]),
  })
  .superRefine((env, ctx) => {
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
      });
    }
    if (env.SHUTDOWN_DRAIN_DELAY_MS > 0 && env.SHUTDOWN_DRAIN_DELAY_MS >= env.SHUTDOWN_GRACE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SHUTDOWN_DRAIN_DELAY_MS'],
        message: 'must be shorter than SHUTDOWN_GRACE_MS (the grace period includes the delay)',
      });
    }
    if (env.SNIP_PROFILE === 'production') {
      if (!env.DATABASE_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['DATABASE_URL'],
          message: 'is required in the production profile (the embedded database is for local use)',
        });
      }
      if (!env.SHORT_CODE_SECRET) {
        ctx.addIssue({
          code: 'custom',
          path: ['SHORT_CODE_SECRET'],
          message: 'is required in the production profile (set it from your secret store)',
        });
      }
      if (!env.PUBLIC_BASE_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['PUBLIC_BASE_URL'],
          message: 'is required in the production profile (it is the origin of every shortUrl)',
        });
      }
    }
    if (env.CLICKS_TRANSPORT === 'redis-streams' && !env.REDIS_URL && !env.CLICKS_REDIS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['CLICKS_TRANSPORT'],
        message: 'redis-streams needs REDIS_URL (or CLICKS_REDIS_URL) as well',
      });
    }
    if (env.CLICKS_TRANSPORT === 'rmq' && !env.RABBITMQ_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['CLICKS_TRANSPORT'],
        message: 'rmq needs RABBITMQ_URL as well',
      });
    }
    if (env.CLICKS_IP_MODE === 'hash' && !env.CLICKS_IP_HASH_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['CLICKS_IP_HASH_KEY'],
        message: 'is required when CLICKS_IP_MODE=hash (the key of the HMAC over addresses)',
      });
    }
    if (env.DATABASE_REPLICA_URLS.length > 0 && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_REPLICA_URLS'],
        message: 'needs DATABASE_URL (the primary) as well',
      });
    }
  });

export type Env = z.output<typeof envSchema>;

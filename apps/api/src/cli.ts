import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, withLocalCodeSecret } from '@app/config';
import { withTimeout } from '@app/core';
import { ClickHouseClicks } from '@app/analytics';
import {
  buildDataSourceOptions,
  pendingMigrations,
  ReplicaReads,
  resolveDatabase,
  revertLastMigration,
  runMigrations,
} from '@app/database';
import { CacheFactory } from '@app/caching';
import { ClickPartitionsRepository, ClickRetention } from '@app/analytics';
import { CacheWarmer, Link, LinkBlocklist, LinksRepository, LinksService } from '@app/links';
import { createLogger, type Logger } from '@app/observability';
import { closeRedis, createRedis } from '@app/redis';
import { DataSource } from 'typeorm';
import { API_KEY_ROLES, ApiKey, type ApiKeyRole } from './api-keys/api-key.entity';
import { toApiKeyResponse } from './api-keys/api-keys.dto';
import { CACHE_WARM_USAGE, parseWarmArgs, UsageError, type WarmCommand } from './cache-warm-args';
import {
  CLICKS_PRUNE_USAGE,
  parsePruneArgs,
  PRUNE_EXIT_LOCKED,
  type PruneCommand,
} from './clicks-prune-args';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { loadApiConfig, type ApiConfig } from './config';

const USAGE = `snip command line

  npm run migration:run                 apply pending migrations (the pre-deploy step)
  npm run migration:revert              revert the most recent migration
  npm run migration:show                list pending migrations; exit 3 if any
  npm run migration:generate -- Name    write a migration for entity changes to libs/database/src/migrations
  npm run cli -- clickhouse:migrate     apply pending ClickHouse migrations (CLICKHOUSE_URL,
                                        CLICKHOUSE_DATABASE; creates the database if missing)
  npm run cli -- api-key:create --name ci --role user [--expires-at 2030-01-31T00:00:00Z]
                                        create an API key; prints it (once) as JSON on stdout
  npm run cli -- api-key:list           list API keys (never the keys themselves), one JSON per line
  npm run cli -- api-key:revoke <id>    revoke an API key at once
  npm run cli -- blocklist:enforce      disable every link to a blocked domain (URL_BLOCKED_DOMAINS,
                                        URL_BLOCKLIST_FILE) and evict it from every cache; prints
                                        a JSON summary
  npm run cli -- cache:warm (--top N [--since 24h] | --codes FILE | --all [--limit N]) [--l1] [--json]
                                        write links to the Redis cache before a campaign (REDIS_URL);
                                        --l1: every running instance loads them in process too
  npm run cli -- clicks:prune [--days N] [--dry-run] [--json]
                                        drop the day partitions of raw clicks older than N days
                                        (CLICKS_RETENTION_DAYS by default); rollups stay. Exit 75:
                                        another process is pruning

Connects to DATABASE_URL (or the embedded database of the local profile; stop the api first).
`;

/** Entities of the whole schema, for migration:generate. */
const ENTITIES = [ApiKey, Link];

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  // Bad arguments are told before anything connects.
  let warm: WarmCommand | undefined;
  if (command === 'cache:warm') {
    try {
      warm = parseWarmArgs(args, (path) => readFileSync(path, 'utf8'));
    } catch (error) {
      if (!(error instanceof UsageError) && !isFileError(error)) throw error;
      process.stderr.write(`cache:warm: ${(error as Error).message}\n\n${CACHE_WARM_USAGE}`);
      return 2;
    }
  }
  let prune: PruneCommand | undefined;
  if (command === 'clicks:prune') {
    try {
      prune = parsePruneArgs(args);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`clicks:prune: ${error.message}\n\n${CLICKS_PRUNE_USAGE}`);
      return 2;
    }
  }
  // One process whatever WEB_CONCURRENCY says (it concerns the server, not the command line).
  const config = loadApiConfig({ ...process.env, WEB_CONCURRENCY: undefined });
  if (prune && prune.days === undefined && config.clickIngest.retentionDays === 0) {
    process.stderr.write(
      'clicks:prune: retention is off (CLICKS_RETENTION_DAYS=0): set it, or give --days N\n',
    );
    return 2;
  }
  const logger = createLogger({ service: 'cli', level: config.app.logLevel });
  if (command === 'clickhouse:migrate') return migrateClickHouse(config, logger);
  const database = await resolveDatabase(config);
  // Migrations may rightly run for minutes: no client-side query bound here.
  const dataSource = new DataSource(
    buildDataSourceOptions(database.config.database, ENTITIES, { unboundedQueries: true }),
  );
  await dataSource.initialize();
  try {
    switch (command) {
      case 'migration:run': {
        const applied = await runMigrations(dataSource);
        logger.info({ applied }, applied.length ? 'migrations applied' : 'schema already current');
        return 0;
      }
      case 'migration:revert':
        await revertLastMigration(dataSource);
        logger.info('reverted the most recent migration');
        return 0;
      case 'migration:show': {
        const pending = await pendingMigrations(dataSource);
        logger.info({ pending }, pending.length ? 'migrations pending' : 'schema current');
        return pending.length ? 3 : 0;
      }
      case 'migration:generate':
        return await generate(dataSource, args[0], logger.info.bind(logger));
      case 'api-key:create':
      case 'api-key:list':
      case 'api-key:revoke':
        return await apiKeys(command, args, new ApiKeysService(new ApiKeysRepository(dataSource)));
      case 'blocklist:enforce':
        return await enforceBlocklist(withLocalCodeSecret(config), dataSource, logger);
      case 'cache:warm':
        return await warmCache(warm!, withLocalCodeSecret(config), dataSource, logger);
      case 'clicks:prune':
        return await pruneClicks(prune!, config, dataSource, logger);
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await dataSource.destroy();
    await database.close();
  }
}

/** Applies ClickHouse's pending migrations, whatever CLICKS_SINK says (a pre-deploy step). */
async function migrateClickHouse(config: ApiConfig, logger: Logger): Promise<number> {
  // Migrations may rightly take long: a generous bound per statement.
  const clickhouse = new ClickHouseClicks({
    ...config.clickhouse,
    timeoutMs: Math.max(config.clickhouse.timeoutMs, 600_000),
  });
  try {
    const applied = await clickhouse.migrate();
    logger.info(
      { applied, database: config.clickhouse.database },
      applied.length ? 'ClickHouse migrations applied' : 'ClickHouse schema already current',
    );
    return 0;
  } finally {
    await clickhouse.close();
  }
}

async function generate(
  dataSource: DataSource,
  name: string | undefined,
  log: (message: string) => void,
): Promise<number> {
  if (!name || !/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    process.stderr.write('migration:generate needs a PascalCase name, such as AddLinkTags\n');
    return 2;
  }
  const sql = await dataSource.driver.createSchemaBuilder().log();
  if (sql.upQueries.length === 0) {
    log('no entity changes: nothing to generate');
    return 0;
  }
  const timestamp = Date.now();
  const className = `${name}${timestamp}`;
  const quote = (query: string): string => JSON.stringify(query);
  const up = sql.upQueries.map((q) => `    await q.query(${quote(q.query)});`).join('\n');
  const down = [...sql.downQueries]
    .reverse()
    .map((q) => `    await q.query(${quote(q.query)});`)
    .join('\n');
  const file = join('libs/database/src/migrations', `${timestamp}-${name}.ts`);
  writeFileSync(
    file,
    `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(q: QueryRunner): Promise<void> {
${up}
  }

  async down(q: QueryRunner): Promise<void> {
${down}
  }
}
`,
  );
  log(`wrote ${file}; review it and add ${className} to libs/database/src/migrations.ts`);
  return 0;
}

/**
 * What POST /api/v1/admin/blocklist/enforce does, from the command line: the links are disabled in
 * the database and written to L2 (REDIS_URL), and every api instance's L1 hears of each on the
 * eviction channel.
 */
async function enforceBlocklist(
  config: ApiConfig,
  dataSource: DataSource,
  logger: Logger,
): Promise<number> {
  const redis = config.redis.url ? createRedis(config.redis) : null;
  const caches = new CacheFactory(config.cache, config.redis, logger, redis);
  const blocklist = new LinkBlocklist(config.links, logger);
  try {
    const links = new LinksService(
      new LinksRepository(dataSource, new ReplicaReads(dataSource, config.database, logger)),
      config.links,
      config.api,
      caches,
      blocklist,
    );
    const summary = await links.enforceBlocklist();
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    logger.info(
      { domains: summary.domains.length, disabled: summary.disabled },
      'blocklist enforced',
    );
    return 0;
  } finally {
    await caches.onApplicationShutdown();
    await closeRedis(redis);
  }
}

const isFileError = (error: unknown): boolean =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';

/** What POST /api/v1/cache/warm does, from the command line (see CacheWarmer). */
async function warmCache(
  warm: WarmCommand,
  config: ApiConfig,
  dataSource: DataSource,
  logger: Logger,
): Promise<number> {
  if (!config.redis.url) {
    process.stderr.write('cache:warm: REDIS_URL is unset: there is no shared cache to warm\n');
    return 2;
  }
  for (const line of warm.rejectedLines) process.stderr.write(`not a code, skipped: ${line}\n`);
  const redis = createRedis(config.redis);
  const caches = new CacheFactory(config.cache, config.redis, logger, redis);
  try {
    if (redis.status !== 'ready') {
      const connected = new Promise((done) => redis.once('ready', done));
      await withTimeout(connected, config.redis.connectTimeoutMs).catch(() => undefined);
    }
    const repository = new LinksRepository(
      dataSource,
      new ReplicaReads(dataSource, config.database, logger),
    );
    const links = new LinksService(
      repository,
      config.links,
      config.api,
      caches,
      new LinkBlocklist(config.links, logger),
    );
    const result = await new CacheWarmer(repository, links).warm(warm.selection, { l1: warm.l1 });
    const summary = {
      ...result,
      invalid: result.invalid + warm.rejectedCount,
      blankLines: warm.blankLines,
    };
    process.stdout.write(
      warm.json
        ? `${JSON.stringify(summary)}\n`
        : `warmed ${summary.links} links in ${summary.durationMs} ms: ${summary.written} written, ` +
            `${summary.keptNewer} kept (newer in the cache), ${summary.missing} unknown or deleted, ` +
            `${summary.invalid} invalid, ${summary.l1} announced to L1\n`,
    );
    return 0;
  } finally {
    await caches.onApplicationShutdown();
    await closeRedis(redis);
  }
}

/** Drops expired day partitions of raw clicks, as the logs worker does on its schedule. */
async function pruneClicks(
  prune: PruneCommand,
  config: ApiConfig,
  dataSource: DataSource,
  logger: Logger,
): Promise<number> {
  const retention = new ClickRetention(new ClickPartitionsRepository(dataSource), logger);
  const days = prune.days ?? config.clickIngest.retentionDays;
  const result = await retention.prune(days, new Date(), { dryRun: prune.dryRun });
  if (prune.json) {
    process.stdout.write(`${JSON.stringify({ days, ...result })}\n`);
  } else if (result.status === 'locked') {
    process.stderr.write(
      'clicks:prune: another process is pruning clicks right now; nothing done\n',
    );
  } else if (result.status === 'done') {
    const verb = result.dryRun ? 'would drop' : 'dropped';
    for (const d of result.dropped)
      process.stdout.write(`${verb} ${d.store} ${d.table} ${d.day}\n`);
    for (const f of result.failed) process.stderr.write(`failed: ${f.store}: ${f.error}\n`);
    process.stdout.write(
      `${verb} ${result.dropped.length} day partitions before ${result.cutoff} (keeping ${days} days and today)\n`,
    );
  }
  if (result.status === 'locked') return PRUNE_EXIT_LOCKED;
  return result.status === 'done' && result.failed.length > 0 ? 1 : 0;
}

async function apiKeys(command: string, args: string[], keys: ApiKeysService): Promise<number> {
  const print = (value: unknown): boolean => process.stdout.write(`${JSON.stringify(value)}\n`);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      'expires-at': { type: 'string' },
    },
  });
  switch (command) {
    case 'api-key:create': {
      const { name, role } = values;
      const expiresAt = values['expires-at'];
      if (
        !name ||
        name.length > 100 ||
        !(API_KEY_ROLES as readonly string[]).includes(role ?? '')
      ) {
        process.stderr.write(
          'api-key:create needs --name (1 to 100 characters) and --role admin|user\n',
        );
        return 2;
      }
      if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
        process.stderr.write('--expires-at must be an ISO 8601 date-time\n');
        return 2;
      }
      const created = await keys.create({
        name,
        role: role as ApiKeyRole,
        expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt),
      });
      print({ ...toApiKeyResponse(created.apiKey), key: created.key });
      return 0;
    }
    case 'api-key:list':
      for (const apiKey of await keys.list()) print(toApiKeyResponse(apiKey));
      return 0;
    default: {
      const id = positionals[0];
      if (!id) {
        process.stderr.write('api-key:revoke needs the key id\n');
        return 2;
      }
      await keys.revoke(id);
      print({ id, revoked: true });
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);

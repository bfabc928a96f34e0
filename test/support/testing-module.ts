import { join } from 'node:path';
import type { ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig, type SnipConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { createLogger, ObservabilityModule } from '@app/observability';
import { createMigratedDatabase, type TestDatabase } from './database';

const CONFIG_DIR = join(__dirname, '../../config');

/**
 * The configuration of an in-process test: the `test` profile with a fixed code secret (so that
 * nothing is written to DATA_DIR), and `env` on top.
 */
export function testConfig(env: Record<string, string> = {}): SnipConfig {
  return loadConfig(
    { SNIP_PROFILE: 'test', SHORT_CODE_SECRET: 'integration-secret-0123456789', ...env },
    { configDir: CONFIG_DIR },
  );
}

/**
 * Compiles and initialises a Nest testing module holding the real configuration, logger and
 * database modules (the DataSource on `config`'s database), `metadata` on top.
 */
export async function startTestingModule(
  config: SnipConfig,
  metadata: ModuleMetadata = {},
): Promise<TestingModule> {
  const logger = createLogger({ service: 'integration', level: config.app.logLevel });
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [
      ConfigModule.forRoot(config),
      ObservabilityModule.forRoot({ logger }),
      DatabaseModule.forRoot(),
      ...(metadata.imports ?? []),
    ],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

export interface IntegrationModuleOptions {
  /** Environment on top of the test profile; DATABASE_URL is the block's own database by default. */
  readonly env?: (db: TestDatabase) => Record<string, string>;
  /**
   * Stand-in read replicas: migrated databases of their own, named in DATABASE_REPLICA_URLS, that
   * never receive the primary's writes (as a replica lagging far behind). None by default.
   */
  readonly replicas?: number;
}

export interface IntegrationModule {
  readonly db: TestDatabase;
  readonly replicas: readonly TestDatabase[];
  readonly module: TestingModule;
  readonly config: SnipConfig;
}

/**
 * Gives the enclosing describe block a fresh migrated database and a testing module on it (see
 * startTestingModule), made in a beforeAll and closed and dropped in an afterAll. The object
 * returned stands for the two, for the block's hooks and tests.
 */
export function useTestingModule(
  metadata: ModuleMetadata,
  options: IntegrationModuleOptions = {},
): IntegrationModule {
  let db: TestDatabase | undefined;
  const replicas: TestDatabase[] = [];
  let moduleRef: TestingModule | undefined;
  let config: SnipConfig | undefined;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    for (let i = 0; i < (options.replicas ?? 0); i++) replicas.push(await createMigratedDatabase());
    const env: Record<string, string> = { DATABASE_URL: db.url };
    if (replicas.length > 0) env.DATABASE_REPLICA_URLS = replicas.map((r) => r.url).join(',');
    config = testConfig({ ...env, ...options.env?.(db) });
    moduleRef = await startTestingModule(config, metadata);
  }, 30_000);
  afterAll(async () => {
    await moduleRef?.close();
    for (const database of [db, ...replicas]) await database?.drop();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value !== undefined) return value;
    throw new Error(`useTestingModule: ${what} is not there (set-up failed, or not in a hook)`);
  };
  return {
    get db() {
      return ready(db, 'the database');
    },
    replicas,
    get module() {
      return ready(moduleRef, 'the testing module');
    },
    get config() {
      return ready(config, 'the configuration');
    },
  };
}

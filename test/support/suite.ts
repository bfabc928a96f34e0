import { createTestDatabase, type TestDatabase } from './database';
import { spawnApi, type SpawnedApi } from './process';

export interface TestApiOptions {
  /** The api's environment, on top of DATABASE_URL (the block's own database) and spawnApi's. */
  readonly env?: Record<string, string>;
  /** Prefix of the database's name; createTestDatabase's by default. */
  readonly databasePrefix?: string;
  /** The signal that stops the api after the block; SIGTERM by default. */
  readonly stopSignal?: NodeJS.Signals;
  /** Timeout of the beforeAll that creates the database and starts the api; 60 s by default. */
  readonly setupTimeoutMs?: number;
}

/**
 * Gives the enclosing describe block a database of its own and an api on it: created and started
 * in a beforeAll (registered now, so it runs before the block's own), stopped and dropped in an
 * afterAll. The objects returned stand for the two, for the block's hooks and tests to use (not
 * while the block is being declared).
 */
export function useTestApi(options: TestApiOptions = {}): {
  readonly db: TestDatabase;
  readonly api: SpawnedApi;
} {
  let db: TestDatabase | undefined;
  let api: SpawnedApi | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(options.databasePrefix);
    api = await spawnApi({ env: { DATABASE_URL: db.url, ...options.env } });
  }, options.setupTimeoutMs ?? 60_000);
  afterAll(async () => {
    await api?.stop(options.stopSignal);
    await db?.drop();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value !== undefined) return value;
    throw new Error(
      `useTestApi: ${what} is not there (it failed to start, or this is no hook or test)`,
    );
  };
  const theDb = () => started(db, 'the database');
  const theApi = () => started(api, 'the api');
  return {
    db: {
      get url() {
        return theDb().url;
      },
      get name() {
        return theDb().name;
      },
      drop: () => theDb().drop(),
    },
    api: {
      get url() {
        return theApi().url;
      },
      get process() {
        return theApi().process;
      },
      get output() {
        return theApi().output;
      },
      get exited() {
        return theApi().exited;
      },
      stop: (signal) => theApi().stop(signal),
    },
  };
}

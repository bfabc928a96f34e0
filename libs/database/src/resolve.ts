import { DatabaseConfig } from '@app/config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface ResolvedDatabase<C extends { readonly database: DatabaseConfig }> {
  /** The configuration with `database.url` pointing at a server that is up. */
  readonly config: C;
  /** Stops the embedded server, if one was started; call after the app has closed its pool. */
  close(): Promise<void>;
}

/**
 * In the embedded mode, starts PGlite and points the configuration at it; otherwise returns the
 * configuration as it is. Runs before the Nest application exists, and its `close` after the
 * application is gone, so the pool never outlives the server it talks to.
 */
export async function resolveDatabase<C extends { readonly database: DatabaseConfig }>(
  config: C,
): Promise<ResolvedDatabase<C>> {
  if (config.database.mode !== 'embedded') {
    return { config, close: () => Promise.resolve() };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: config.database.dataDir,
    port: config.database.embeddedPort,
  });
  const database = Object.assign(new DatabaseConfig(), config.database, { url: embedded.url });
  return { config: { ...config, database }, close: () => embedded.stop() };
}

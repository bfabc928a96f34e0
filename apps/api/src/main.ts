import 'reflect-metadata';
import { ConfigError, loadConfig, type SnipConfig } from '@app/config';
import { createLogger } from '@app/observability';
import { startApi } from './api';

async function main(): Promise<void> {
  let config: SnipConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ service: 'api', level: config.app.logLevel });
  const api = await startApi(config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, error instanceof Error ? error.message : 'start-up failed');
    process.exit(1);
  });
  logger.info(
    { url: api.url, profile: config.app.profile, database: config.database.mode },
    `snip api listening on ${api.url}`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    setTimeout(() => {
      logger.error({ graceMs: config.app.shutdownGraceMs }, 'shutdown grace period over, exiting');
      process.exit(1);
    }, config.app.shutdownGraceMs).unref();
    api.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();

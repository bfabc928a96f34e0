import 'reflect-metadata';
import { ConfigError, loadConfig, type SnipConfig } from '@app/config';
import { createLogger } from '@app/observability';
import { startLogs } from './logs';

async function main(): Promise<void> {
  let config: SnipConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ service: 'logs', level: config.app.logLevel });
  const logs = await startLogs(config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, error instanceof Error ? error.message : 'start-up failed');
    process.exit(1);
  });
  logger.info(
    { url: logs.url, transport: config.clicks.transport, profile: config.app.profile },
    `snip logs listening on ${logs.url}`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing the batch in hand');
    setTimeout(() => {
      logger.error({ graceMs: config.app.shutdownGraceMs }, 'shutdown grace period over, exiting');
      process.exit(1);
    }, config.app.shutdownGraceMs).unref();
    logs.close().then(
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

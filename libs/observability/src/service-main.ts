import { createServer } from 'node:net';
import { ConfigError, type AppConfig } from '@app/config';
import { isWorker, reportListening, runPrimary, startWorker } from './cluster';
import { createLogger, type Logger } from './logger';
import { StartupError } from './startup-error';

interface RunningService {
  /** Where the service listens, such as http://127.0.0.1:3000. */
  readonly url: string;
  /** Stops taking work, finishes what is in hand, releases resources. */
  close(): Promise<void>;
}

/** The part of an app's configuration that the process entry reads. */
interface ServiceConfig {
  readonly app: AppConfig;
}

export interface ServiceMain<C extends ServiceConfig> {
  /** Name in every log line and in "snip <service> listening on <url>". */
  readonly service: string;
  /** What the service does between SIGTERM and exit, for the log. */
  readonly drain: string;
  /** Reads and validates the namespaces the service uses; throws a ConfigError. */
  loadConfig(environment: NodeJS.ProcessEnv): C;
  /** Starts the service. Import the app lazily in here, so a bad config fails fast. */
  start(config: C, logger: Logger): Promise<RunningService>;
  /** Extra fields of the "listening" log line. */
  describe?(config: C): Record<string, unknown>;
  /** Where the service will listen, and the key that sets the port, checked before it starts. */
  listen?(config: C): ListenAddress;
  /**
   * How many processes serve (WEB_CONCURRENCY); 1 by default. Above 1 this process becomes the
   * primary of that many workers on the same port (see cluster.ts), and `start` runs in each.
   */
  processes?(config: C): number;
  /** With several processes: one-time start-up work, done by the primary before it forks. */
  prepare?(config: C): void;
}

interface ListenAddress {
  readonly port: number;
  readonly host: string;
  /** The config key of the port, such as PORT, named when the port is taken. */
  readonly key: string;
}

const isAddressInUse = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === 'EADDRINUSE';

const inUse = ({ port, host, key }: ListenAddress): string =>
  `port ${port} on ${host} is already in use (${key})`;

/**
 * Resolves true if `port` on `host` can be bound now, false if it is in use: a quick look before
 * the start-up (database, migrations, the app) that would otherwise fail only at listen.
 */
function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', (error) => (isAddressInUse(error) ? done(false) : fail(error)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => done(true)));
  });
}

/**
 * The process entry every snip app shares: read the config (exit 1 naming the bad keys), start,
 * log where it listens, and on SIGTERM or SIGINT drain, close and exit 0 — or exit 1 if the drain
 * outlasts SHUTDOWN_GRACE_MS or fails. With `processes` above 1 this process is the primary of that
 * many workers instead (runPrimary), each of which runs this same entry and starts the service.
 */
export function runService<C extends ServiceConfig>(main: ServiceMain<C>): void {
  let config: C;
  try {
    config = main.loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ service: main.service, level: config.app.logLevel });
  const worker = isWorker();
  if (worker) startWorker();
  const processes = worker ? 1 : (main.processes?.(config) ?? 1);
  const address = main.listen?.(config);
  // A worker shares the port its primary checked (and its siblings already listen on).
  const free =
    address === undefined || address.port === 0 || worker
      ? Promise.resolve(true)
      : portIsFree(address.port, address.host).catch(() => true);
  free
    .then((isFree) => {
      if (!isFree) throw new StartupError(inUse(address as ListenAddress));
      if (processes === 1) return main.start(config, logger);
      main.prepare?.(config);
      runPrimary({
        service: main.service,
        workers: processes,
        logger,
        shutdownGraceMs: config.app.shutdownGraceMs,
        drain: main.drain,
        describe: { profile: config.app.profile, ...main.describe?.(config) },
      });
      return undefined;
    })
    .then(
      (running) => {
        if (running === undefined) return;
        if (worker) {
          logger.info(
            { url: running.url },
            `snip ${main.service} worker listening on ${running.url}`,
          );
          reportListening(running.url);
        } else {
          logger.info(
            { url: running.url, profile: config.app.profile, ...main.describe?.(config) },
            `snip ${main.service} listening on ${running.url}`,
          );
        }
        handleSignals(running, config, logger, main.drain);
      },
      (error: unknown) => {
        // A port taken between the check and the listen is the same one-line failure.
        const failure =
          address !== undefined && isAddressInUse(error) ? new StartupError(inUse(address)) : error;
        // A StartupError says all there is to say: one line, no stack.
        if (failure instanceof StartupError) logger.fatal(failure.message);
        else
          logger.fatal(
            { err: failure },
            failure instanceof Error ? failure.message : 'start-up failed',
          );
        process.exit(1);
      },
    );
}

function handleSignals(
  running: RunningService,
  config: ServiceConfig,
  logger: Logger,
  drain: string,
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `shutting down: ${drain}`);
    setTimeout(() => {
      logger.error({ graceMs: config.app.shutdownGraceMs }, 'shutdown grace period over, exiting');
      process.exit(1);
    }, config.app.shutdownGraceMs).unref();
    running.close().then(
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

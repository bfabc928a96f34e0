import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, register } from 'prom-client';
import type { Logger } from './logger';

/**
 * Several processes of one service on one port (WEB_CONCURRENCY): a primary that forks the
 * workers, restarts one that dies, drains them all on SIGTERM or SIGINT, and answers a worker's
 * request for the metrics of every worker. The primary loads no app: it reads the config, logs,
 * forks and waits. See docs/operations.md "Several processes per machine".
 */

/** Messages between the primary and its workers (Node's IPC channel, JSON). */
type Message =
  /** worker -> primary: the app listens on `url`. */
  | { readonly type: 'snip:listening'; readonly url: string }
  /** worker -> primary: a scrape of /metrics wants every worker's metrics, as exposition text. */
  | { readonly type: 'snip:metrics'; readonly id: number }
  /** primary -> worker: the answer to `snip:metrics`. */
  | {
      readonly type: 'snip:metrics-result';
      readonly id: number;
      readonly text?: string;
      readonly error?: string;
    }
  /** primary -> worker: send your registry as JSON. */
  | { readonly type: 'snip:collect'; readonly id: number }
  /** worker -> primary: the answer to `snip:collect`. */
  | { readonly type: 'snip:collected'; readonly id: number; readonly metrics: unknown[] };

const isMessage = (value: unknown): value is Message =>
  typeof value === 'object' &&
  value !== null &&
  'type' in value &&
  typeof value.type === 'string' &&
  value.type.startsWith('snip:');

/** How long the primary waits for each worker's metrics; a scrape then fails rather than lie. */
const COLLECT_TIMEOUT_MS = 3000;
/** A worker that ran at least this long before it died restarts at once, its failures forgotten. */
const STABLE_MS = 30_000;
/** Restart delays after quick deaths in a row: none, then 0.5 s doubling up to this. */
const MAX_RESTART_DELAY_MS = 30_000;
/** Quick deaths in a row of one worker slot after which the primary gives up and exits 1. */
const MAX_QUICK_DEATHS = 10;

export interface PrimaryOptions {
  readonly service: string;
  readonly workers: number;
  readonly logger: Logger;
  /** SHUTDOWN_GRACE_MS: each worker's own bound; the primary waits a little longer. */
  readonly shutdownGraceMs: number;
  /** What a worker does between SIGTERM and exit, for the log. */
  readonly drain: string;
  /** Fields of the one "listening" line, logged once every worker listens. */
  readonly describe: Record<string, unknown>;
}

interface Slot {
  readonly index: number;
  worker?: Worker;
  startedAt: number;
  listening: boolean;
  quickDeaths: number;
  restart?: NodeJS.Timeout;
}

/** The delay before a worker slot restarts after its `quickDeaths`-th quick death in a row. */
export function restartDelayMs(quickDeaths: number): number {
  return quickDeaths <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (quickDeaths - 2));
}

/**
 * Runs the primary: forks `workers` processes of this same entry (cluster workers share the port
 * the app listens on), logs "snip <service> listening on <url>" once all listen, and exits 1 if
 * one fails before that. Afterwards a worker that dies is restarted (at once; after quick deaths
 * in a row with a growing delay, and after MAX_QUICK_DEATHS the primary stops everything, exit 1).
 * SIGTERM or SIGINT is passed to every worker, which drains as a single process does; the primary
 * exits 0 when all exited 0, else 1.
 */
export function runPrimary(options: PrimaryOptions): void {
  const { logger, service } = options;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    startedAt: 0,
    listening: false,
    quickDeaths: 0,
  }));
  let started = false;
  let stopping = false;
  let failed = false;

  const live = (): Worker[] => slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));

  const finish = (): void => {
    if (live().length > 0) return;
    logger.info({ failed }, failed ? 'stopped, a worker failed' : 'stopped');
    process.exit(failed ? 1 : 0);
  };

  const stop = (reason: string, fields: Record<string, unknown> = {}): void => {
    if (stopping) return;
    stopping = true;
    logger.info(fields, `${reason}: ${options.drain} in every worker`);
    for (const slot of slots) clearTimeout(slot.restart);
    for (const worker of live()) worker.process.kill('SIGTERM');
    // Each worker bounds its own shutdown by SHUTDOWN_GRACE_MS; this only catches one that hangs.
    setTimeout(() => {
      logger.error({ graceMs: options.shutdownGraceMs }, 'workers outlived the grace period');
      for (const worker of live()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, options.shutdownGraceMs + 2000).unref();
    finish();
  };

  const fork = (slot: Slot): void => {
    slot.restart = undefined;
    slot.listening = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.type === 'snip:listening') onListening(slot, message.url);
      else if (message.type === 'snip:metrics') void answerMetrics(worker, message.id);
    });
    worker.once('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  const onListening = (slot: Slot, url: string): void => {
    slot.listening = true;
    if (started) {
      logger.info({ worker: slot.index, workerPid: slot.worker?.process.pid }, 'worker restarted');
      return;
    }
    if (slots.some((s) => !s.listening)) return;
    started = true;
    logger.info(
      { url, workers: options.workers, ...options.describe },
      `snip ${service} listening on ${url}`,
    );
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker === worker) slot.worker = undefined;
    const fields = { worker: slot.index, workerPid: worker.process.pid, code, signal };
    if (stopping) {
      if (code !== 0) failed = true;
      finish();
      return;
    }
    if (!started) {
      logger.fatal(fields, `${service} worker failed to start`);
      failed = true;
      stop('start-up failed');
      return;
    }
    slot.quickDeaths = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.quickDeaths + 1;
    if (slot.quickDeaths > MAX_QUICK_DEATHS) {
      logger.fatal({ ...fields, deaths: slot.quickDeaths }, `${service} worker keeps dying`);
      failed = true;
      stop('giving up');
      return;
    }
    const delayMs = restartDelayMs(slot.quickDeaths);
    logger.error({ ...fields, restartInMs: delayMs }, `${service} worker died, restarting it`);
    slot.restart = setTimeout(() => fork(slot), delayMs);
  };

  let nextCollect = 0;
  const collecting = new Map<number, (metrics: unknown[]) => void>();
  cluster.on('message', (_worker, message: unknown) => {
    if (isMessage(message) && message.type === 'snip:collected') {
      collecting.get(message.id)?.(message.metrics);
    }
  });

  /** The registry of one worker as JSON; rejects after COLLECT_TIMEOUT_MS. */
  const collect = (worker: Worker): Promise<unknown[]> => {
    const id = nextCollect++;
    return new Promise<unknown[]>((done, fail) => {
      const timer = setTimeout(() => {
        collecting.delete(id);
        fail(new Error(`worker ${worker.process.pid} did not send its metrics in time`));
      }, COLLECT_TIMEOUT_MS);
      collecting.set(id, (metrics) => {
        clearTimeout(timer);
        collecting.delete(id);
        done(metrics);
      });
      worker.send({ type: 'snip:collect', id } satisfies Message);
    });
  };

  /** Sums (or averages, per metric) every worker's registry with prom-client's aggregator. */
  const answerMetrics = async (asking: Worker, id: number): Promise<void> => {
    let reply: Message;
    try {
      const workers = live().filter((worker) => worker.isConnected());
      const registries = await Promise.all(workers.map(collect));
      const text = await AggregatorRegistry.aggregate(registries).metrics();
      reply = { type: 'snip:metrics-result', id, text };
    } catch (error) {
      reply = {
        type: 'snip:metrics-result',
        id,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    if (asking.isConnected()) asking.send(reply);
  };

  process.once('SIGTERM', () => stop('shutting down', { signal: 'SIGTERM' }));
  process.once('SIGINT', () => stop('shutting down', { signal: 'SIGINT' }));
  for (const slot of slots) fork(slot);
}

/** Whether this process is a worker forked by runPrimary. */
export const isWorker = (): boolean => cluster.isWorker;

const pendingScrapes = new Map<
  number,
  { done: (text: string) => void; fail: (error: Error) => void }
>();
let nextScrape = 0;

/**
 * In a worker, before the app starts: answers the primary's requests for this process's metrics
 * (so a scrape never waits on a worker still starting) and delivers its answers to scrapes.
 */
export function startWorker(): void {
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === 'snip:collect') {
      void register.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: 'snip:collected', id: message.id, metrics }),
        () => process.send?.({ type: 'snip:collected', id: message.id, metrics: [] }),
      );
    } else if (message.type === 'snip:metrics-result') {
      const scrape = pendingScrapes.get(message.id);
      pendingScrapes.delete(message.id);
      if (message.text !== undefined) scrape?.done(message.text);
      else scrape?.fail(new Error(message.error ?? 'no metrics'));
    }
  });
}

/** In a worker: tells the primary that the app listens on `url`. */
export function reportListening(url: string): void {
  process.send?.({ type: 'snip:listening', url } satisfies Message);
}

/**
 * In a worker: the metrics of every worker of the primary, aggregated, as exposition text. Rejects
 * if a worker does not answer in time (the scrape then fails instead of showing counters that went
 * down), bounded by COLLECT_TIMEOUT_MS plus a second.
 */
export function metricsOfEveryWorker(): Promise<string> {
  const id = nextScrape++;
  return new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      pendingScrapes.delete(id);
      fail(new Error('the primary did not answer in time'));
    }, COLLECT_TIMEOUT_MS + 1000);
    pendingScrapes.set(id, {
      done: (text) => {
        clearTimeout(timer);
        done(text);
      },
      fail: (error) => {
        clearTimeout(timer);
        fail(error);
      },
    });
    process.send?.({ type: 'snip:metrics', id } satisfies Message);
  });
}

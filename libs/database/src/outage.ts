import { DomainError, type ErrorTranslator } from '@app/core';
import type { Logger } from '@app/observability';

/** Seconds a client is asked to wait before retrying while the database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The database cannot be reached: an outage the client can retry, not a bug. */
export class DatabaseUnavailableError extends DomainError {
  constructor() {
    super(
      'DATABASE_UNAVAILABLE',
      `The database cannot be reached right now. Retry in ${DATABASE_RETRY_AFTER_SECONDS} seconds.`,
      {},
      { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
    );
  }
}

/** How often the database is probed while it is unreachable. */
const PROBE_INTERVAL_MS = 1000;

/** Socket-level codes of a connection that failed or broke. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs of a server that is going away or not taking connections (class 08 is matched whole). */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03']);

/** node-postgres and pg-pool errors that carry no code, by message. */
const MESSAGES: ReadonlyArray<readonly [string, string]> = [
  ['Query read timeout', 'QUERY_TIMEOUT'],
  ['timeout exceeded when trying to connect', 'CONNECT_TIMEOUT'],
  ['Connection terminated unexpectedly', 'CONNECTION_TERMINATED'],
  ['Connection terminated due to connection timeout', 'CONNECT_TIMEOUT'],
  ['Connection terminated', 'CONNECTION_TERMINATED'],
  ['Client has encountered a connection error and is not queryable', 'CONNECTION_BROKEN'],
  // A rollback after a query timeout, on the client that timeout just closed.
  ['Client was closed and is not queryable', 'CONNECTION_CLOSED'],
];

function fields(error: object): { code?: unknown; message?: unknown; next: unknown[] } {
  const { code, message, driverError, cause, errors } = error as Record<string, unknown>;
  // TypeORM wraps driver errors (QueryFailedError.driverError); Node wraps several attempts
  // (AggregateError.errors, for a host with IPv4 and IPv6 addresses); anyone may set `cause`.
  const next = [driverError, cause, ...(Array.isArray(errors) ? (errors as unknown[]) : [])];
  return { code, message, next };
}

/**
 * Why `error` means the database could not be reached (a short code for the log), or undefined
 * when it is some other failure (a constraint, a syntax error: those stay bugs or domain errors).
 */
export function databaseUnreachableCause(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const { code, message, next } = fields(error);
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) {
      return code;
    }
  }
  if (typeof message === 'string') {
    for (const [text, cause] of MESSAGES) if (message.startsWith(text)) return cause;
  }
  for (const inner of next) {
    const cause = databaseUnreachableCause(inner, depth + 1);
    if (cause) return cause;
  }
  return undefined;
}

/**
 * Whether the database is reachable, as requests and the pools see it: logs one warning when it
 * becomes unreachable and one line when it is back, instead of an error with a stack per request.
 */
export class DatabaseReachability {
  private downSince?: number;
  private probe?: () => Promise<unknown>;
  private timer?: NodeJS.Timeout;

  constructor(private readonly logger: Logger) {}

  get reachable(): boolean {
    return this.downSince === undefined;
  }

  /**
   * While the database is unreachable, runs `probe` (a query on every pool) each second; when it
   * succeeds the database is back. Without it, only `reached()` ends the outage.
   */
  watch(probe: () => Promise<unknown>): void {
    this.probe = probe;
    if (!this.reachable) this.schedule();
  }

  /** Stops probing (the app is shutting down). */
  close(): void {
    this.probe = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A database call failed because the database could not be reached. */
  unreachable(cause: string, error?: unknown): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    const message = error instanceof Error ? error.message : undefined;
    this.logger.warn({ code: cause, error: message }, 'database unreachable');
    this.schedule();
  }

  /** A connection to the database was established again. */
  reached(): void {
    if (this.downSince === undefined) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = undefined;
    this.logger.info({ downMs }, 'database reachable again');
  }

  private schedule(): void {
    if (!this.probe || this.timer) return;
    this.timer = setTimeout(() => void this.runProbe(), PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  private async runProbe(): Promise<void> {
    const probe = this.probe;
    if (!probe) return;
    try {
      await probe();
      this.timer = undefined;
      this.reached();
    } catch (error) {
      this.timer = undefined;
      // Any answer from the server (even an error) means it is reachable.
      if (databaseUnreachableCause(error) === undefined) this.reached();
      else if (!this.reachable) this.schedule();
    }
  }

  /**
   * For `createHttpApp`'s `errorTranslators` and the redirect: an unreachable database becomes
   * DATABASE_UNAVAILABLE (503, Retry-After), anything else is left to the other translators.
   */
  readonly translate: ErrorTranslator = (error) => {
    const cause = databaseUnreachableCause(error);
    if (cause === undefined) return undefined;
    this.unreachable(cause, error);
    return new DatabaseUnavailableError();
  };
}

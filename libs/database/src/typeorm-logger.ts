import type { Logger } from '@app/observability';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { databaseUnreachableCause } from './outage';

/**
 * TypeORM's log through snip's pino logger instead of the console. A query that failed because
 * the database could not be reached is left out: DatabaseReachability reports the outage once,
 * instead of a line per failed query. Other failed queries reach whoever ran them, which decides
 * (ALIAS_TAKEN is expected; the problem filter logs a bug with its stack).
 */
export class PinoTypeOrmLogger implements TypeOrmLogger {
  constructor(private readonly logger: Logger) {}

  logQuery(): void {
    // Queries are not logged; `logging` stays at errors.
  }

  /** At debug: whoever gets the error decides (a conflict is expected, a bug is logged as such). */
  logQueryError(error: string | Error, query: string): void {
    if (databaseUnreachableCause(error) !== undefined) return;
    this.logger.debug({ err: error, query }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ durationMs: time, query }, 'slow query');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug({ schema: message }, 'schema build');
  }

  logMigration(message: string): void {
    this.logger.info({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn({ detail: String(message) }, 'typeorm');
    else this.logger.debug({ detail: String(message) }, 'typeorm');
  }
}

import { parseArgs } from 'node:util';
import { UsageError } from './cache-warm-args';

/** The most days `--days` takes (that of CLICKS_RETENTION_DAYS). */
export const PRUNE_DAYS_MAX = 36_500;

/** Exit status of `clicks:prune` when another process holds the prune lock (EX_TEMPFAIL). */
export const PRUNE_EXIT_LOCKED = 75;

export const CLICKS_PRUNE_USAGE = `usage: npm run cli -- clicks:prune [--days N] [--dry-run] [--json]
  --days N     keep the raw clicks of today and the N days before it (1 to ${PRUNE_DAYS_MAX});
               drop the older day partitions (default: CLICKS_RETENTION_DAYS)
  --dry-run    list the days that would be dropped, drop nothing
  --json       print the result as JSON
exit status: 0 done (or nothing to drop), 1 a store failed (retry later), 2 bad arguments or
retention off, ${PRUNE_EXIT_LOCKED} another process is pruning right now (nothing done; retry later)
`;

export interface PruneCommand {
  /** Days to keep; undefined: CLICKS_RETENTION_DAYS. */
  readonly days: number | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** Parses `clicks:prune`'s arguments. */
export function parsePruneArgs(args: string[]): PruneCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        days: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = values.days;
  if (
    text !== undefined &&
    (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > PRUNE_DAYS_MAX)
  ) {
    throw new UsageError(
      `--days must be a whole number from 1 to ${PRUNE_DAYS_MAX}, not "${text}"`,
    );
  }
  return {
    days: text === undefined ? undefined : Number(text),
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
  };
}

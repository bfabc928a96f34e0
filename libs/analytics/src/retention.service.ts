import { Inject, Injectable } from '@nestjs/common';
import { clickMetrics } from '@app/clicks';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { ClickPartitionsRepository } from './click-partitions.repository';
import { retentionCutoff, type DroppedDay, type RawClickStore } from './retention';

/**
 * Raw click stores besides PostgreSQL (such as ClickHouse) whose old days are dropped as well, in
 * the same run and under the same lock; none by default (see AnalyticsModule).
 */
export const RAW_CLICK_STORES = Symbol('RAW_CLICK_STORES');

interface PruneOptions {
  /** List what would be dropped, drop nothing. */
  readonly dryRun?: boolean;
}

export type PruneResult =
  /** Retention is off (0 days): nothing was looked at. */
  | { readonly status: 'off' }
  /** Another process holds the prune lock: nothing was done here. */
  | { readonly status: 'locked'; readonly cutoff: string }
  | {
      readonly status: 'done';
      /** The first day kept (YYYY-MM-DD); every day before it is gone. */
      readonly cutoff: string;
      readonly dryRun: boolean;
      readonly dropped: readonly (DroppedDay & { readonly store: string })[];
      /** Stores that failed (such as a DROP that waited too long for its lock), retried next run. */
      readonly failed: readonly { readonly store: string; readonly error: string }[];
    };

/**
 * Drops the raw clicks of days older than the retention window from every raw store, whole day
 * partitions at a time, under a PostgreSQL advisory lock so that two workers (or a worker and the
 * command line) never prune at once. Daily rollups and link totals are other tables, untouched.
 */
@Injectable()
export class ClickRetention {
  private readonly dropped = clickMetrics.partitionsDropped();

  constructor(
    private readonly partitions: ClickPartitionsRepository,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(RAW_CLICK_STORES) private readonly others: readonly RawClickStore[] = [],
  ) {}

  /** Keeps `days` days of raw clicks before `now` (see retentionCutoff); 0 keeps everything. */
  async prune(days: number, now: Date, options: PruneOptions = {}): Promise<PruneResult> {
    const cutoff = retentionCutoff(days, now);
    if (cutoff === undefined) return { status: 'off' };
    const dryRun = options.dryRun ?? false;
    const result = await this.partitions.withPruneLock(async (postgres) => {
      const dropped: (DroppedDay & { store: string })[] = [];
      const failed: { store: string; error: string }[] = [];
      for (const store of [postgres, ...this.others]) {
        try {
          const days = await store.dropDaysBefore(cutoff, { dryRun });
          dropped.push(...days.map((d) => ({ ...d, store: store.name })));
          if (!dryRun) for (const d of days) this.dropped.inc({ table: d.table });
        } catch (error) {
          this.logger.warn(
            { err: error, store: store.name, cutoff },
            'dropping expired clicks failed; the next run tries again',
          );
          failed.push({ store: store.name, error: (error as Error).message });
        }
      }
      return { status: 'done' as const, cutoff, dryRun, dropped, failed };
    });
    if (result === undefined) {
      this.logger.info({ cutoff }, 'another process is pruning clicks; skipped');
      return { status: 'locked', cutoff };
    }
    if (result.dropped.length > 0 || result.failed.length > 0) {
      this.logger.info(
        {
          cutoff,
          dryRun,
          dropped: result.dropped.map((d) => `${d.store}:${d.table}:${d.day}`),
          failed: result.failed.length,
        },
        dryRun ? 'expired clicks that would be dropped' : 'expired clicks dropped',
      );
    }
    return result;
  }
}

import { Inject, Injectable, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { ClickIngestConfig } from '@app/config';
import { sleep } from '@app/core';
import { clickMetrics, validateClickEvent } from '@app/clicks';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { Batcher } from './batcher';
import { ClickHouseClicks } from './clickhouse/clickhouse-clicks';
import { toReceipt } from './clickhouse/rows';
import { ClicksRepository } from './clicks.repository';
import { ClickEnricher, loadCountryLookup, type ClickRow } from './enrichment';
import { VisitorSaltsRepository } from './visitor-salts.repository';
import { visitorId } from './visitors';
import { isExpired, retentionCutoff } from './retention';

export type IngestOutcome =
  { readonly status: 'stored' } | { readonly status: 'invalid'; readonly reason: string };

const DAY_MS = 86_400_000;

/**
 * The click pipeline after the transport: validate, buffer (N events or T ms), enrich, then store
 * clicks and rollups in one statement. `accept` resolves only once the event is committed (or
 * refused), which is when the transport may acknowledge it. A failing store is retried with backoff
 * for as long as the process runs, so a database outage delays acknowledgements, never loses them.
 * With CLICKS_SINK=clickhouse a batch is stored twice, both at once: the wide rows into ClickHouse,
 * and a receipt of each click (no descriptive column) through the same exactly-once PostgreSQL
 * statement, which keeps the rollups and totals. Both writes are idempotent by event id; the one
 * that failed is retried, and the batch is acknowledged only once both succeeded (decision 48).
 */
@Injectable()
export class ClickIngestService implements BeforeApplicationShutdown {
  private readonly batcher: Batcher<ClickRow>;
  private enricher: Promise<ClickEnricher> | undefined;
  private enricherNow: ClickEnricher | undefined;
  private partitionsAheadUntil = 0;
  private shuttingDown = false;
  private lastFailureLog = 0;
  private readonly metrics = {
    inserted: clickMetrics.inserted(),
    duplicates: clickMetrics.duplicates(),
    batchSize: clickMetrics.batchSize(),
    insertSeconds: clickMetrics.insertSeconds(),
    storeFailures: clickMetrics.storeFailures(),
    expired: clickMetrics.expired(),
  };

  constructor(
    private readonly repository: ClicksRepository,
    private readonly salts: VisitorSaltsRepository,
    private readonly config: ClickIngestConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Optional()
    @Inject(ClickHouseClicks)
    private readonly clickhouse: ClickHouseClicks | null = null,
  ) {
    this.batcher = new Batcher(
      { size: config.batchSize, intervalMs: config.batchIntervalMs },
      (events) => this.store(events),
    );
  }

  /** Validates a decoded event and resolves once it is stored, or says why it was refused. */
  async accept(value: unknown): Promise<IngestOutcome> {
    const validation = validateClickEvent(value);
    if (!validation.ok) return { status: 'invalid', reason: validation.reason };
    // Enriched on arrival, so that enrichment overlaps with the insert of the previous batch.
    const enricher = this.enricherNow ?? (await this.getEnricher());
    await this.batcher.add(enricher.enrich(validation.event));
    return { status: 'stored' };
  }

  /** Loads the enrichment data now rather than on the first batch. */
  async warmUp(): Promise<void> {
    await this.getEnricher();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.batcher.drain();
  }

  private getEnricher(): Promise<ClickEnricher> {
    this.enricher ??= loadCountryLookup().then((lookup) => {
      this.enricherNow = new ClickEnricher(lookup);
      return this.enricherNow;
    });
    return this.enricher;
  }

  private async store(events: ClickRow[]): Promise<void> {
    const seen = new Set<string>();
    const rows: ClickRow[] = [];
    for (const row of events) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      rows.push(row);
    }
    // With ClickHouse, what each store already has: a retry redoes only the write that failed.
    let inserted: number | undefined;
    let inClickHouse = !this.clickhouse;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.keepPartitionsAhead();
        // Checked on each attempt: a retried batch may have crossed midnight into a dropped day.
        const kept = await this.identifyVisitors(this.withoutExpired(rows));
        const started = process.hrtime.bigint();
        if (!this.clickhouse) {
          inserted = await this.repository.insertClicksIgnoringDuplicates(kept);
        } else {
          // The two writes at once; both settle before the outcome is known (no overlap with a
          // retry), and the batch counts as stored only when both succeeded.
          const results = await Promise.allSettled([
            inClickHouse
              ? undefined
              : this.clickhouse.insert(kept).then(() => (inClickHouse = true)),
            inserted !== undefined
              ? undefined
              : this.repository
                  .insertClicksIgnoringDuplicates(kept.map(toReceipt))
                  .then((n) => (inserted = n)),
          ]);
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
        }
        inserted ??= 0;
        this.metrics.insertSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics.batchSize.observe(kept.length);
        // Counted once the batch is stored, so a retried batch counts its expired events once.
        this.metrics.expired.inc(rows.length - kept.length);
        this.metrics.inserted.inc(inserted);
        this.metrics.duplicates.inc(events.length - (rows.length - kept.length) - inserted);
        return;
      } catch (error) {
        this.metrics.storeFailures.inc();
        if (this.shuttingDown && attempt >= 3) throw error;
        const backoff = Math.min(100 * 2 ** attempt, 5000);
        if (Date.now() - this.lastFailureLog > 5000) {
          this.lastFailureLog = Date.now();
          this.logger.warn(
            { err: error, events: rows.length, attempt, retryInMs: backoff },
            'storing clicks failed; retrying (nothing is acknowledged meanwhile)',
          );
        }
        await sleep(backoff);
      }
    }
  }

  /** The rows with their visitor ids, keyed with the salts of their UTC days. */
  private async identifyVisitors(rows: readonly ClickRow[]): Promise<ClickRow[]> {
    const salts = await this.salts.saltsFor(rows.map((row) => row.occurredAt.slice(0, 10)));
    return rows.map((row) => ({
      ...row,
      visitorId: visitorId(salts.get(row.occurredAt.slice(0, 10))!, row.ip, row.userAgent),
    }));
  }

  /**
   * `rows` without the clicks of days before the retention window (CLICKS_RETENTION_DAYS), which
   * are counted and acknowledged but not stored: their day's partition is, or is about to be,
   * dropped, and storing one would re-create it. A redelivery of an event whose day was dropped
   * would not be seen as a duplicate either, and would count twice in the rollups.
   */
  private withoutExpired(rows: ClickRow[]): ClickRow[] {
    const cutoff = retentionCutoff(this.config.retentionDays, new Date());
    if (cutoff === undefined) return rows;
    return rows.filter((row) => !isExpired(row.occurredAt, cutoff));
  }

  /** Creates the partitions of the coming days, once a day per process. */
  private async keepPartitionsAhead(): Promise<void> {
    const now = Date.now();
    if (now < this.partitionsAheadUntil) return;
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    const days = Array.from({ length: this.config.partitionsAheadDays + 1 }, (_, i) =>
      new Date(today + i * DAY_MS).toISOString().slice(0, 10),
    );
    await this.repository.ensurePartitions(days);
    this.partitionsAheadUntil = today + DAY_MS;
  }
}

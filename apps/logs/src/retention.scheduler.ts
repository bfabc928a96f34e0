import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ClickRetention } from '@app/analytics';
import { ClickIngestConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';

/** The wait before the first run, so that a starting worker first gets its consumer going. */
export const RETENTION_START_DELAY_MS = 10_000;

/**
 * Drops expired raw clicks (CLICKS_RETENTION_DAYS) shortly after the worker starts, then every
 * CLICKS_RETENTION_INTERVAL_MS after the end of the previous run, so two runs of one worker never
 * overlap (and the advisory lock keeps workers apart). Its timer never keeps the process alive;
 * shutdown waits for a run in progress, before the database closes.
 */
@Injectable()
export class RetentionScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly retention: ClickRetention,
    private readonly config: ClickIngestConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.retentionDays === 0) return;
    this.logger.info(
      { days: this.config.retentionDays, intervalMs: this.config.retentionIntervalMs },
      'dropping raw clicks older than the retention window on a schedule',
    );
    this.schedule(RETENTION_START_DELAY_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.config.retentionIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    try {
      await this.retention.prune(this.config.retentionDays, new Date());
    } catch (error) {
      this.logger.warn({ err: error }, 'dropping expired clicks failed; the next run tries again');
    }
  }
}

import type { ClickIngestService } from '@app/analytics';
import { clickMetrics, type ClickEvent, type ClickTransport } from '@app/clicks';
import type { Logger } from '@app/observability';

/**
 * The embedded default's transport: no broker, the batch goes straight into the same ingest
 * pipeline the logs worker runs, and resolves once it is stored.
 */
export class InlineClickTransport implements ClickTransport {
  private readonly deadLettered = clickMetrics.deadLettered();

  constructor(
    private readonly ingest: ClickIngestService,
    private readonly logger: Logger,
  ) {}

  async deliver(events: readonly ClickEvent[]): Promise<void> {
    const outcomes = await Promise.all(events.map((event) => this.ingest.accept(event)));
    for (const outcome of outcomes) {
      if (outcome.status !== 'invalid') continue;
      // There is no dead-letter store in process: count and log what was refused.
      this.deadLettered.inc({ reason: 'invalid' });
      this.logger.warn({ reason: outcome.reason }, 'click event refused');
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

import { sleep } from '@app/core';
import type { Logger } from '@app/observability';
import type { ClickEvent } from './click-event';
import { clickMetrics } from './metrics';

/** Where the publisher hands batches: a broker client, or the in-process pipeline. */
export interface ClickTransport {
  /** Resolves once the whole batch is durably accepted; rejects if any of it may not be. */
  deliver(events: readonly ClickEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface ClickPublisherOptions {
  /** Most events held while the transport is slow or down; beyond it new events are dropped. */
  readonly bufferMax: number;
  readonly batchSize: number;
  readonly intervalMs: number;
  /** Longest wait between retries of a failed batch. */
  readonly maxBackoffMs?: number;
}

/**
 * Takes click events from the redirect without ever making it wait: `publish` only appends to a
 * bounded buffer. Batches leave by size or on a timer, one at a time; a failed batch goes back to
 * the front and is retried with backoff, so a broker outage costs memory up to `bufferMax`, then
 * counted drops (`snip_clicks_dropped_total`), never a slower redirect.
 */
export class ClickPublisher {
  private buffer: ClickEvent[] = [];
  private sending: Promise<void> | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly dropped = clickMetrics.dropped();
  private readonly published = clickMetrics.published();
  private readonly publishFailures = clickMetrics.publishFailures();
  private readonly buffered = clickMetrics.buffered();
  private lastFailureLog = 0;

  constructor(
    private readonly transport: ClickTransport,
    private readonly options: ClickPublisherOptions,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.kick(), options.intervalMs);
    this.timer.unref();
  }

  /** Queues `event`; never throws, never waits. */
  publish(event: ClickEvent): void {
    if (this.closed) {
      this.dropped.inc({ reason: 'closed' });
      return;
    }
    if (this.buffer.length >= this.options.bufferMax) {
      this.dropped.inc({ reason: 'buffer_full' });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.options.batchSize) this.kick();
  }

  /** Events waiting to be sent. */
  get size(): number {
    return this.buffer.length;
  }

  /**
   * Stops taking events and sends what is buffered, retrying until `deadlineMs` has passed; what is
   * still unsent then is counted as dropped.
   */
  async close(deadlineMs = 5000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline && (this.buffer.length > 0 || this.sending)) {
      if (this.sending) {
        await this.sending;
        continue;
      }
      if (Date.now() < this.retryAt) {
        await sleep(Math.min(this.retryAt, deadline) - Date.now());
        continue;
      }
      this.startSending();
    }
    if (this.buffer.length > 0) {
      this.logger.error({ unsent: this.buffer.length }, 'click events left unsent at shutdown');
      this.dropped.inc({ reason: 'shutdown' }, this.buffer.length);
      this.buffer = [];
    }
    this.buffered.set(0);
    await this.transport.close().catch(() => undefined);
  }

  private kick(): void {
    this.buffered.set(this.buffer.length);
    if (this.sending || this.buffer.length === 0 || Date.now() < this.retryAt) return;
    this.startSending();
  }

  private startSending(): void {
    const sending = this.sendNext();
    this.sending = sending;
    void sending.finally(() => {
      if (this.sending === sending) this.sending = undefined;
      this.buffered.set(this.buffer.length);
    });
  }

  /** Sends batches back to back while full ones are waiting; never rejects. */
  private async sendNext(): Promise<void> {
    try {
      do {
        const batch = this.buffer.splice(0, this.options.batchSize);
        try {
          await this.transport.deliver(batch);
          this.published.inc(batch.length);
          this.failures = 0;
          this.retryAt = 0;
        } catch (error) {
          this.requeue(batch);
          this.failures++;
          this.publishFailures.inc();
          const backoff = Math.min(50 * 2 ** this.failures, this.options.maxBackoffMs ?? 2000);
          this.retryAt = Date.now() + backoff;
          if (Date.now() - this.lastFailureLog > 5000) {
            this.lastFailureLog = Date.now();
            this.logger.warn(
              { err: error, buffered: this.buffer.length, retryInMs: backoff },
              'click transport failed; buffering and retrying',
            );
          }
          return;
        }
      } while (this.buffer.length >= this.options.batchSize || (this.closed && this.buffer.length));
    } catch (error) {
      this.logger.error({ err: error }, 'click publisher failed unexpectedly');
    }
  }

  /** Puts a failed batch back in front; what no longer fits under the bound is dropped, counted. */
  private requeue(batch: ClickEvent[]): void {
    const room = Math.max(0, this.options.bufferMax - this.buffer.length);
    if (batch.length > room) this.dropped.inc({ reason: 'buffer_full' }, batch.length - room);
    this.buffer = batch.slice(0, room).concat(this.buffer);
  }
}

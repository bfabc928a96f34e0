import { RmqContext, ServerRMQ, type MessageHandler, type ReadPacket } from '@nestjs/microservices';
import * as amqp from 'amqplib';
import { withTimeout } from '@app/core';
import type { Logger } from '@app/observability';
import { CLICK_PATTERN, type ClickEvent } from './click-event';
import { memoizeHandlerLookup } from './handler-lookup';
import { clickMetrics } from './metrics';
import type { ClickTransport } from './publisher';
import { RedisStreamsContext } from './redis-streams.server';

export interface ClickQueueOptions {
  readonly queue: string;
  readonly deadLetterQueue: string;
  readonly queueType: 'quorum' | 'classic';
  /** Quorum queues dead-letter a message redelivered more than this (x-delivery-limit). */
  readonly maxDeliveries: number;
}

/**
 * Arguments of the click queue, identical wherever it is declared (publisher and worker), since
 * RabbitMQ refuses a redeclaration with other arguments. Rejected messages (nack without requeue)
 * and, on quorum queues, messages delivered too often go to the dead-letter queue.
 */
export function clickQueueArguments(options: ClickQueueOptions): Record<string, unknown> {
  const args: Record<string, unknown> = {
    'x-queue-type': options.queueType,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': options.deadLetterQueue,
  };
  if (options.queueType === 'quorum') args['x-delivery-limit'] = options.maxDeliveries;
  return args;
}

/** Declares the dead-letter queue and the click queue (both durable); idempotent. */
export async function declareClickQueues(
  channel: amqp.Channel,
  options: ClickQueueOptions,
): Promise<void> {
  await channel.assertQueue(options.deadLetterQueue, { durable: true });
  await channel.assertQueue(options.queue, {
    durable: true,
    arguments: clickQueueArguments(options),
  });
}

export interface RmqConfirmPublisherOptions extends ClickQueueOptions {
  readonly url: string;
  /** Longest a batch may wait for the broker's confirms before it counts as failed. */
  readonly confirmTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * Publishes click batches on a raw amqplib confirm channel: every message persistent, then one
 * `waitForConfirms` for the batch, so a batch resolves only once RabbitMQ has taken all of it. The
 * connection is opened on first use and again after any failure.
 */
export class RmqConfirmPublisher implements ClickTransport {
  private connection: amqp.ChannelModel | undefined;
  private channel: Promise<amqp.ConfirmChannel> | undefined;

  constructor(private readonly options: RmqConfirmPublisherOptions) {}

  async deliver(events: readonly ClickEvent[]): Promise<void> {
    const channel = await this.open();
    try {
      for (const event of events) {
        channel.sendToQueue(
          this.options.queue,
          Buffer.from(JSON.stringify({ pattern: CLICK_PATTERN, data: event })),
          { persistent: true, contentType: 'application/json' },
        );
      }
      const ms = this.options.confirmTimeoutMs;
      await withTimeout(channel.waitForConfirms(), ms, `no broker confirm within ${ms} ms`);
    } catch (error) {
      await this.reset();
      throw error;
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }

  private open(): Promise<amqp.ConfirmChannel> {
    this.channel ??= this.connect().catch((error: unknown) => {
      this.channel = undefined;
      throw error;
    });
    return this.channel;
  }

  private async connect(): Promise<amqp.ConfirmChannel> {
    const connection = await amqp.connect(this.options.url, { timeout: 5000 });
    this.connection = connection;
    const forget = (): void => {
      if (this.connection === connection) {
        this.connection = undefined;
        this.channel = undefined;
      }
    };
    connection.on('error', (error: unknown) => {
      this.options.logger.warn({ err: error }, 'RabbitMQ connection error (clicks)');
    });
    connection.on('close', forget);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    channel.on('close', forget);
    await declareClickQueues(channel, this.options);
    return channel;
  }

  private async reset(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }
}

/**
 * Nest's RabbitMQ server, counting what it rejects for want of a handler (an unknown pattern, or a
 * body that is not a Nest packet at all): with manual acks it nacks those without requeue, and
 * the queue's dead-letter arguments move them to the dead-letter queue.
 */
export class ClickServerRMQ extends ServerRMQ {
  private readonly deadLettered = clickMetrics.deadLettered();
  private readonly consumed = clickMetrics.consumed();
  private readonly cachedHandler = memoizeHandlerLookup((pattern) =>
    super.getHandlerByPattern(pattern),
  );

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.cachedHandler(pattern);
  }

  /** The connection to RabbitMQ is up (the logs worker's readiness reports it as the broker). */
  get connected(): boolean {
    // Nest types the field with amqp-connection-manager's class, which its typings leave as any.
    const server = this.server as { isConnected(): boolean } | null;
    return server?.isConnected() ?? false;
  }

  override async handleEvent(
    pattern: string,
    packet: ReadPacket,
    context: RmqContext,
  ): Promise<unknown> {
    this.consumed.inc();
    if (!this.getHandlerByPattern(pattern)) {
      this.deadLettered.inc({
        reason: packet.pattern === undefined ? 'undecodable' : 'unknown_pattern',
      });
    }
    return super.handleEvent(pattern, packet, context);
  }
}

/**
 * Settles one click after the handler's work: acknowledge a stored event, dead-letter a refused
 * one. Works for both broker transports, so one `@EventPattern` handler serves either.
 */
export function settleClick(
  context: unknown,
  outcome: { readonly status: 'stored' } | { readonly status: 'invalid'; readonly reason: string },
): void {
  if (context instanceof RedisStreamsContext) {
    if (outcome.status === 'stored') context.ack();
    else context.deadLetter(outcome.reason);
    return;
  }
  if (context instanceof RmqContext) {
    const channel = context.getChannelRef() as amqp.Channel;
    const message = context.getMessage() as amqp.Message;
    try {
      if (outcome.status === 'stored') {
        channel.ack(message);
      } else {
        clickMetrics.deadLettered().inc({ reason: 'invalid' });
        channel.nack(message, false, false);
      }
    } catch {
      // The channel closed under us: the broker redelivers, and the event id makes that harmless.
    }
  }
}

/**
 * Samples the click queue's depth (ready messages) into `snip_clicks_consumer_lag{transport="rmq"}`
 * every `intervalMs`, on a connection of its own. Returns a function that stops it.
 */
export function sampleQueueDepth(
  url: string,
  queue: string,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  const lag = clickMetrics.lag();
  let connection: amqp.ChannelModel | undefined;
  let channel: amqp.Channel | undefined;
  let stopped = false;
  const sample = async (): Promise<void> => {
    try {
      if (!channel) {
        connection = await amqp.connect(url, { timeout: 5000 });
        connection.on('error', () => undefined);
        connection.on('close', () => {
          connection = undefined;
          channel = undefined;
        });
        channel = await connection.createChannel();
        channel.on('error', () => undefined);
      }
      const { messageCount } = await channel.checkQueue(queue);
      lag.set({ transport: 'rmq' }, messageCount);
    } catch (error) {
      logger.debug({ err: error }, 'could not sample queue depth');
    }
  };
  const timer = setInterval(() => {
    if (!stopped) void sample();
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await connection?.close().catch(() => undefined);
  };
}

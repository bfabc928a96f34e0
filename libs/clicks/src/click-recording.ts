import type { ClickPublisherConfig, ClicksConfig, RedisConfig } from '@app/config';
import type { Logger } from '@app/observability';
import { createRedis, watchRedis } from '@app/redis';
import { createClickEvent, type ClickVisitor } from './click-event';
import { IpAnonymizer } from './ip-anonymizer';
import { ClickPublisher, type ClickTransport } from './publisher';
import { RedisStreamsClient } from './redis-streams.client';
import { RmqConfirmPublisher } from './rmq';

/**
 * What a redirect calls for every click, in whichever process redirects (the api, the edge):
 * builds the event (UUIDv7 id, anonymised address) and queues it with the publisher of
 * `transport`. `record` never waits, never throws; `close` sends what is buffered.
 */
export class ClickRecording {
  private readonly publisher: ClickPublisher;
  private readonly ips: IpAnonymizer;

  constructor(
    transport: ClickTransport,
    publishing: ClickPublisherConfig,
    private readonly logger: Logger,
  ) {
    this.ips = new IpAnonymizer({
      mode: publishing.ipMode,
      hashKey: publishing.ipHashKey,
      ipv4Prefix: publishing.ipv4Prefix,
      ipv6Prefix: publishing.ipv6Prefix,
    });
    this.publisher = new ClickPublisher(
      transport,
      {
        bufferMax: publishing.bufferMax,
        batchSize: publishing.publishBatchSize,
        intervalMs: publishing.publishIntervalMs,
      },
      logger.child({ context: 'ClickPublisher' }),
    );
  }

  record(
    link: { readonly id: string; readonly code: string },
    visitor: ClickVisitor,
    at: Date,
  ): void {
    try {
      this.publisher.publish(createClickEvent(link, visitor, this.ips.anonymize(visitor.ip), at));
    } catch (error) {
      this.logger.error({ err: error }, 'could not record a click');
    }
  }

  /** After the HTTP server has drained: sends what is buffered, within `withinMs`. */
  async close(withinMs: number): Promise<void> {
    await this.publisher.close(withinMs);
  }
}

/**
 * The publishing side of a broker transport (CLICKS_TRANSPORT redis-streams or rmq). `inline`
 * is no broker: the api builds that transport itself, and the edge refuses it.
 */
export function brokerTransport(
  config: ClicksConfig,
  redis: RedisConfig,
  logger: Logger,
): ClickTransport {
  switch (config.transport) {
    case 'inline':
      throw new Error('CLICKS_TRANSPORT=inline has no broker to publish to');
    case 'redis-streams':
      return new RedisStreamsClient({
        connect: () => {
          const client = createRedis(
            { ...redis, url: config.redisUrl },
            { maxRetriesPerRequest: 1 },
          );
          // Logging only (its 'error' listener, one line per outage): the publisher keeps its own
          // buffer and retries, and the redirect never waits on it.
          watchRedis(client, { name: 'clicks', logger, probeIntervalMs: 0 });
          return client;
        },
        stream: config.stream,
        maxLen: config.streamMaxLen,
      });
    case 'rmq':
      return new RmqConfirmPublisher({
        url: config.rabbitmqUrl ?? '',
        queue: config.queue,
        deadLetterQueue: config.deadLetterQueue,
        queueType: config.queueType,
        maxDeliveries: config.maxDeliveries,
        confirmTimeoutMs: 10_000,
        logger,
      });
  }
}

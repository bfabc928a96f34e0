import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ClickIngestService } from '@app/analytics';
import {
  ClickPublisher,
  createClickEvent,
  IpAnonymizer,
  RedisStreamsClient,
  RmqConfirmPublisher,
  type ClickTransport,
  type ClickVisitor,
} from '@app/clicks';
import { AppConfig, ClickPublisherConfig, ClicksConfig, RedisConfig } from '@app/config';
import { ROOT_LOGGER, type Logger } from '@app/observability';
import { createRedis, watchRedis } from '@app/redis';
import { InlineClickTransport } from './inline.transport';

/**
 * What the redirect calls for every click: builds the event (UUIDv7 id, anonymised address) and
 * queues it with the publisher of the configured transport. Never waits, never throws.
 */
@Injectable()
export class ClickRecorder implements OnApplicationShutdown {
  private readonly publisher: ClickPublisher;
  private readonly ips: IpAnonymizer;

  constructor(
    config: ClicksConfig,
    publishing: ClickPublisherConfig,
    redis: RedisConfig,
    private readonly app: AppConfig,
    ingest: ClickIngestService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.ips = new IpAnonymizer({
      mode: publishing.ipMode,
      hashKey: publishing.ipHashKey,
      ipv4Prefix: publishing.ipv4Prefix,
      ipv6Prefix: publishing.ipv6Prefix,
    });
    this.publisher = new ClickPublisher(
      transportFor(config, redis, ingest, logger),
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

  /** After the HTTP server has drained: send what is buffered, within the shutdown grace. */
  async onApplicationShutdown(): Promise<void> {
    await this.publisher.close(Math.max(1000, this.app.shutdownGraceMs - 1000));
  }
}

function transportFor(
  config: ClicksConfig,
  redis: RedisConfig,
  ingest: ClickIngestService,
  logger: Logger,
): ClickTransport {
  switch (config.transport) {
    case 'inline':
      return new InlineClickTransport(ingest, logger);
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

import type { MicroserviceOptions } from '@nestjs/microservices';
import * as amqp from 'amqplib';
import {
  ClickServerRMQ,
  clickQueueArguments,
  declareClickQueues,
  RedisStreamsServer,
  type ClickQueueOptions,
} from '@app/clicks';
import type { Logger } from '@app/observability';
import { createRedis, watchRedis } from '@app/redis';
import type { LogsConfig } from './config';

/** How long one XREADGROUP waits for entries; short enough for a prompt shutdown. */
const READ_BLOCK_MS = 1000;

function clickQueueOptions(config: LogsConfig): ClickQueueOptions {
  return {
    queue: config.clicks.queue,
    deadLetterQueue: config.clicks.deadLetterQueue,
    queueType: config.clicks.queueType,
    maxDeliveries: config.clicks.maxDeliveries,
  };
}

/** Declares the click queues before Nest's server asserts its own (the dead-letter one first). */
export async function prepareRabbitMq(config: LogsConfig): Promise<void> {
  const url = config.clicks.rabbitmqUrl;
  if (!url) throw new Error('CLICKS_TRANSPORT=rmq needs RABBITMQ_URL');
  const connection = await amqp.connect(url, { timeout: 5000 });
  try {
    const channel = await connection.createChannel();
    await declareClickQueues(channel, clickQueueOptions(config));
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** The consumer side of the configured click transport, as a Nest microservice. */
export function clickMicroservice(
  config: LogsConfig,
  logger: Logger,
): MicroserviceOptions & { strategy: RedisStreamsServer | ClickServerRMQ } {
  const { clicks, worker } = config;
  switch (clicks.transport) {
    case 'redis-streams':
      return {
        strategy: new RedisStreamsServer({
          connect: (purpose) => {
            const client = createRedis(
              { ...config.redis, url: clicks.redisUrl },
              purpose === 'reader'
                ? { commandTimeout: READ_BLOCK_MS + 5000, maxRetriesPerRequest: 1 }
                : { maxRetriesPerRequest: 1 },
            );
            // Its 'error' listener and one log line per outage; the consumer retries by itself.
            watchRedis(client, { name: `clicks-${purpose}`, logger, probeIntervalMs: 0 });
            return client;
          },
          stream: clicks.stream,
          group: worker.consumerGroup,
          consumer: worker.consumerName,
          batchSize: config.clickIngest.batchSize,
          blockMs: READ_BLOCK_MS,
          readAhead: 2,
          claimIdleMs: worker.claimIdleMs,
          maxDeliveries: clicks.maxDeliveries,
          deadLetterStream: worker.deadLetterStream,
          deadLetterMaxLen: clicks.streamMaxLen,
          logger,
        }),
      };
    case 'rmq':
      return {
        strategy: new ClickServerRMQ({
          urls: [clicks.rabbitmqUrl ?? ''],
          queue: clicks.queue,
          queueOptions: {
            durable: true,
            arguments: clickQueueArguments(clickQueueOptions(config)),
          },
          noAck: false,
          prefetchCount: worker.prefetch,
          isGlobalPrefetchCount: false,
        }),
      };
    case 'inline':
      throw new Error(
        'CLICKS_TRANSPORT=inline: the api stores clicks itself; the logs worker needs redis-streams or rmq',
      );
  }
}

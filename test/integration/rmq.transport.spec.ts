import type { MessageHandler } from '@nestjs/microservices';
import * as amqp from 'amqplib';
import {
  CLICK_PATTERN,
  ClickServerRMQ,
  clickQueueArguments,
  createClickEvent,
  declareClickQueues,
  RmqConfirmPublisher,
  settleClick,
  type ClickEvent,
  type ClickQueueOptions,
} from '@app/clicks';
import { createLogger } from '@app/observability';
import { uniqueName } from '../support/clicks';
import { eventually, gate } from '../support/eventually';
import { RABBITMQ_URL } from '../support/services';

/**
 * The RabbitMQ click transport on a real broker, each test on queues of its own: the publisher's
 * batch resolves once the broker holds it; the worker's server acknowledges a message only when
 * the handler settles it (a message in hand when the consumer goes away is delivered again), and
 * a refused message, an unknown pattern or a body that is no packet go to the dead-letter queue.
 */

type Outcome =
  { readonly status: 'stored' } | { readonly status: 'invalid'; readonly reason: string };

const event = (n: number): ClickEvent =>
  createClickEvent({ id: String(9000 + n), code: 'rmq0001' }, { method: 'GET' }, null);

describe('the RabbitMQ click transport', () => {
  jest.setTimeout(30_000);
  const logger = createLogger({ service: 'integration', level: 'silent' });
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queues: ClickQueueOptions;
  const servers: ClickServerRMQ[] = [];
  const publishers: RmqConfirmPublisher[] = [];
  const declared: string[] = [];

  beforeAll(async () => {
    connection = await amqp.connect(RABBITMQ_URL);
    channel = await connection.createChannel();
  });

  beforeEach(async () => {
    const queue = uniqueName('snip-it-clicks');
    queues = {
      queue,
      deadLetterQueue: `${queue}.dead`,
      queueType: 'quorum',
      maxDeliveries: 5,
    };
    declared.push(queues.queue, queues.deadLetterQueue);
    // What the logs worker does before its server asserts the queue (prepareRabbitMq).
    await declareClickQueues(channel, queues);
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
  });

  afterAll(async () => {
    for (const queue of declared) await channel.deleteQueue(queue).catch(() => undefined);
    await connection.close();
  });

  const depth = async (queue = queues.queue): Promise<number> =>
    (await channel.checkQueue(queue)).messageCount;

  async function publish(events: readonly ClickEvent[]): Promise<void> {
    const publisher = new RmqConfirmPublisher({
      ...queues,
      url: RABBITMQ_URL,
      confirmTimeoutMs: 10_000,
      logger,
    });
    publishers.push(publisher);
    await publisher.deliver(events);
  }

  /** The logs worker's server on the test's queue, with `handle` as the click handler. */
  async function listen(handle: (data: unknown) => Promise<Outcome>): Promise<ClickServerRMQ> {
    const server = new ClickServerRMQ({
      urls: [RABBITMQ_URL],
      queue: queues.queue,
      queueOptions: { durable: true, arguments: clickQueueArguments(queues) },
      noAck: false,
      prefetchCount: 100,
      isGlobalPrefetchCount: false,
    });
    const handler = async (data: unknown, context: unknown): Promise<void> => {
      settleClick(context, await handle(data));
    };
    server.addHandler(CLICK_PATTERN, handler as MessageHandler, true);
    servers.push(server);
    await new Promise<void>((done, fail) => {
      void server.listen((error?: unknown) =>
        error === undefined ? done() : fail(new Error('listen failed', { cause: error })),
      );
    });
    return server;
  }

  it('resolves a published batch once the broker holds all of it', async () => {
    const events = [event(1), event(2), event(3)];
    await publish(events);
    expect(await depth()).toBe(3);
    const message = await channel.get(queues.queue, { noAck: true });
    expect(message && JSON.parse(message.content.toString())).toEqual({
      pattern: CLICK_PATTERN,
      data: JSON.parse(JSON.stringify(events[0])) as unknown,
    });
  });

  it('acknowledges a message only once the handler settled it; one in hand when the consumer goes is delivered again', async () => {
    await publish([event(1), event(2)]);
    const held = gate();
    const seen: unknown[] = [];
    const first = await listen(async (data) => {
      seen.push(data);
      await held.wait;
      return { status: 'stored' };
    });
    await eventually(() => seen.length === 2, { what: 'both deliveries' });
    // In the handler's hands, so not in the queue: the consumer goes away before settling.
    await first.close();
    await eventually(depth, (n) => n === 2, { what: 'the messages back in the queue' });
    held.open();

    const stored: unknown[] = [];
    await listen((data) => {
      stored.push(data);
      return Promise.resolve({ status: 'stored' });
    });
    await eventually(() => stored.length === 2, { what: 'the second delivery' });
    await Promise.all(servers.splice(0).map((server) => server.close()));
    // Acknowledged: nothing comes back once this consumer is gone too.
    expect(await depth()).toBe(0);
    expect(await depth(queues.deadLetterQueue)).toBe(0);
  });

  it('dead-letters refused events, unknown patterns and bodies that are no packet', async () => {
    await publish([event(1), event(2)]);
    const raw = await connection.createConfirmChannel();
    raw.sendToQueue(queues.queue, Buffer.from('not json at all'), { persistent: true });
    raw.sendToQueue(
      queues.queue,
      Buffer.from(JSON.stringify({ pattern: 'something-else', data: {} })),
      { persistent: true },
    );
    await raw.waitForConfirms();
    await raw.close();

    const seen: unknown[] = [];
    await listen((data) => {
      seen.push(data);
      return Promise.resolve(
        (data as { linkId: string }).linkId === event(1).linkId
          ? { status: 'invalid', reason: 'refused' }
          : { status: 'stored' },
      );
    });
    await eventually(
      () => depth(queues.deadLetterQueue),
      (n) => n === 3,
      {
        what: 'three dead letters',
      },
    );
    expect(seen).toHaveLength(2);
    await Promise.all(servers.splice(0).map((server) => server.close()));
    expect(await depth()).toBe(0);
  });
});

import type { MessageHandler } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import {
  RedisStreamsClient,
  RedisStreamsServer,
  STREAM_FIELDS,
  type RedisStreamsContext,
  type RedisStreamsServerOptions,
} from '@app/clicks';
import { createLogger } from '@app/observability';
import { pairs, uniqueName } from '../support/clicks';
import { eventually, gate } from '../support/eventually';
import { REDIS_URL } from '../support/services';

/**
 * RedisStreamsServer (the logs worker's consumer) on a real Redis, each test on a stream and group
 * of its own: entries reach their handler, are acknowledged only once the handler returned having
 * called ack(), stay pending otherwise and come back (to this consumer after claimIdleMs, to a
 * restarted consumer of the same name at once, to another consumer once the first died), go to
 * the dead-letter stream when they cannot be handled, and close() lets the batch in hand finish.
 */

type Handler = (data: unknown, context: RedisStreamsContext) => Promise<void> | void;

interface Delivery {
  readonly data: unknown;
  readonly entryId: string;
  readonly stream: string;
  readonly deliveries: number;
}

describe('RedisStreamsServer on Redis', () => {
  jest.setTimeout(30_000);
  const logger = createLogger({ service: 'integration', level: 'silent' });
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const streams: string[] = [];
  const servers: RedisStreamsServer[] = [];
  const clients: RedisStreamsClient[] = [];
  let stream = '';
  const GROUP = 'logs';

  beforeEach(() => {
    stream = `snip-test:${uniqueName('server')}`;
    streams.push(stream, `${stream}:dead`);
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    if (streams.length > 0) await admin.del(...streams);
    await admin.quit();
  });

  /** Starts a server on the test's stream with `handlers` by pattern; resolves once it listens. */
  async function listen(
    handlers: Record<string, Handler>,
    options: Partial<RedisStreamsServerOptions> = {},
  ): Promise<RedisStreamsServer> {
    const server = new RedisStreamsServer({
      connect: () => new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }),
      stream,
      group: GROUP,
      consumer: 'worker-1',
      batchSize: 10,
      blockMs: 100,
      readAhead: 2,
      claimIdleMs: 60_000,
      maxDeliveries: 5,
      deadLetterStream: `${stream}:dead`,
      deadLetterMaxLen: 1000,
      logger,
      ...options,
    });
    for (const [pattern, handler] of Object.entries(handlers)) {
      server.addHandler(pattern, handler as MessageHandler, true);
    }
    servers.push(server);
    await new Promise<void>((done, fail) => {
      void server.listen((error?: unknown) =>
        error === undefined ? done() : fail(new Error('listen failed', { cause: error })),
      );
    });
    return server;
  }

  /** Adds one entry per item under `pattern`, through the transport's own client. */
  async function publish(pattern: string, items: readonly unknown[]): Promise<void> {
    const client = new RedisStreamsClient({
      connect: () => new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }),
      stream,
      maxLen: 100_000,
    });
    clients.push(client);
    await client.dispatchBatch(pattern, [...items]);
  }

  /** Reads up to `count` new entries as `consumer` of the group and never acknowledges them. */
  async function readAs(consumer: string, count: number): Promise<void> {
    await admin.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
    await admin.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'STREAMS', stream, '>');
  }

  const pendingCount = async (): Promise<number> =>
    ((await admin.xpending(stream, GROUP)) as [number])[0];

  /** A handler that records each delivery, waits at `gateWait` if given, then acknowledges. */
  function recording(deliveries: Delivery[], gateWait?: Promise<void>): Handler {
    return async (data, context) => {
      deliveries.push({
        data,
        entryId: context.getEntryId(),
        stream: context.getStream(),
        deliveries: context.getDeliveries(),
      });
      await gateWait;
      context.ack();
    };
  }

  it('hands each entry to its handler and acknowledges it only after the handler returned', async () => {
    const items = [{ n: 1 }, { n: 2 }, { n: 3 }];
    // Added before the group exists: the group starts at the beginning of the stream.
    await publish('click', items);
    const held = gate();
    const seen: Delivery[] = [];
    await listen({ click: recording(seen, held.wait) });

    await eventually(() => seen.length === 3, { what: 'three deliveries' });
    expect(seen.map((d) => d.data)).toEqual(items);
    const ids = (await admin.xrange(stream, '-', '+')).map(([id]) => id);
    expect(seen).toEqual(
      items.map((data, i) => ({ data, entryId: ids[i], stream, deliveries: 1 })),
    );
    // Handled, but the handlers have not returned: nothing is acknowledged yet.
    expect(await pendingCount()).toBe(3);

    held.open();
    await eventually(async () => (await pendingCount()) === 0, { what: 'the acknowledgements' });
    expect(seen).toHaveLength(3);
  });

  /** The group's `pending` and `lag` (entries not yet delivered) from XINFO GROUPS. */
  async function groupState(): Promise<{ pending: number; lag: number }> {
    const groups = (await admin.xinfo('GROUPS', stream)) as unknown[][];
    const fields = groups.map((flat) => pairs(flat)).find((group) => group.get('name') === GROUP);
    return { pending: Number(fields?.get('pending')), lag: Number(fields?.get('lag')) };
  }

  it('holds at most readAhead batches pending however long the backlog: the backlog is the lag', async () => {
    // What the KEDA trigger of deploy/kubernetes scales on: the group's lag, since the pending
    // count of a worker stays at readAhead x batchSize (here 2 x 10) while the backlog waits.
    const total = 500;
    await publish(
      'click',
      Array.from({ length: total }, (_, n) => ({ n })),
    );
    const held = gate();
    const seen: Delivery[] = [];
    await listen({ click: recording(seen, held.wait) });

    await eventually(() => seen.length === 20, { what: 'two batches in hand' });
    expect(await groupState()).toEqual({ pending: 20, lag: total - 20 });

    held.open();
    let mostPending = 0;
    await eventually(
      async () => {
        const state = await groupState();
        mostPending = Math.max(mostPending, state.pending);
        return state;
      },
      (state) => state.pending === 0 && state.lag === 0,
      { intervalMs: 1, what: 'the backlog to be consumed' },
    );
    expect(seen).toHaveLength(total);
    expect(mostPending).toBeLessThanOrEqual(20);
  });

  it('leaves an entry whose handler failed or did not ack pending, and hands it again after claimIdleMs', async () => {
    const seen: Delivery[] = [];
    await listen(
      {
        click: (data, context) => {
          seen.push({ data, entryId: '', stream: '', deliveries: context.getDeliveries() });
          if (context.getDeliveries() === 1) {
            if ((data as { n: number }).n === 1) throw new Error('the database is away');
            return; // returned without ack(): not done either
          }
          context.ack();
        },
      },
      { claimIdleMs: 100 },
    );
    await publish('click', [{ n: 1 }, { n: 2 }]);

    await eventually(async () => (await pendingCount()) === 0 && seen.length === 4, {
      what: 'both entries handled a second time and acknowledged',
    });
    expect(seen.map((d) => [(d.data as { n: number }).n, d.deliveries]).sort()).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
  });

  it('takes over the entries a consumer that died left pending', async () => {
    await publish('click', [{ n: 1 }, { n: 2 }]);
    await readAs('dead-worker', 10);
    expect(await pendingCount()).toBe(2);

    const seen: Delivery[] = [];
    await listen({ click: recording(seen) }, { consumer: 'worker-2', claimIdleMs: 100 });
    await eventually(async () => (await pendingCount()) === 0, { what: 'the claim' });
    expect(seen.map((d) => [d.data, d.deliveries])).toEqual([
      [{ n: 1 }, 2],
      [{ n: 2 }, 2],
    ]);
    const consumers = ((await admin.xinfo('CONSUMERS', stream, GROUP)) as unknown[][]).map(pairs);
    expect(consumers.find((c) => c.get('name') === 'dead-worker')?.get('pending')).toBe(0);
  });

  it('reads its own pending entries first when restarted under the same name', async () => {
    await publish('click', [{ n: 1 }, { n: 2 }]);
    // The previous run of worker-1 read them and was killed before acknowledging.
    await readAs('worker-1', 10);
    await publish('click', [{ n: 3 }]);

    const seen: Delivery[] = [];
    // No claim for a minute: only the history read can hand them over.
    await listen({ click: recording(seen) }, { consumer: 'worker-1', claimIdleMs: 60_000 });
    await eventually(async () => seen.length === 3 && (await pendingCount()) === 0, {
      what: 'the pending entries and the new one',
    });
    expect(seen.map((d) => [d.data, d.deliveries])).toEqual([
      [{ n: 1 }, 2],
      [{ n: 2 }, 2],
      [{ n: 3 }, 1],
    ]);
  });

  it('dead-letters what cannot be handled, with the reason and the original fields, and acknowledges it', async () => {
    // Delivered once already to a consumer that died: one more delivery is one too many.
    await publish('click', [{ n: 'too-often' }]);
    await readAs('dead-worker', 1);
    await admin.xadd(stream, '*', STREAM_FIELDS.pattern, 'click', STREAM_FIELDS.data, '{not json');
    await admin.xadd(stream, '*', 'unexpected', 'fields');
    await publish('something-else', [{ n: 'no handler' }]);
    await publish('click', [{ n: 'refused' }, { n: 'fine' }]);

    const seen: Delivery[] = [];
    await listen(
      {
        click: (data, context) => {
          seen.push({ data, entryId: '', stream: '', deliveries: context.getDeliveries() });
          if ((data as { n: string }).n === 'refused') context.deadLetter('id is not a UUIDv7');
          else context.ack();
        },
      },
      { maxDeliveries: 1, claimIdleMs: 100 },
    );

    const dead = await eventually(
      () => admin.xrange(`${stream}:dead`, '-', '+'),
      (entries) => entries.length === 5,
      { what: 'five dead letters' },
    );
    await eventually(async () => (await pendingCount()) === 0, { what: 'the acknowledgements' });
    const byReason = dead.map(([, fields]) => {
      const map = pairs(fields);
      return [map.get('reason'), map.get(STREAM_FIELDS.data) ?? map.get('unexpected')];
    });
    expect(byReason.sort()).toEqual(
      [
        ['id is not a UUIDv7', JSON.stringify({ n: 'refused' })],
        ['max_deliveries', JSON.stringify({ n: 'too-often' })],
        ['undecodable', '{not json'],
        ['undecodable', 'fields'],
        ['unknown_pattern', JSON.stringify({ n: 'no handler' })],
      ].sort(),
    );
    expect(seen.map((d) => d.data)).toEqual([{ n: 'refused' }, { n: 'fine' }]);
  });

  it('on close, lets the batch in hand finish and be acknowledged, then reads nothing more', async () => {
    const held = gate();
    const seen: Delivery[] = [];
    const server = await listen({ click: recording(seen, held.wait) });
    await publish('click', [{ n: 1 }]);
    await eventually(() => seen.length === 1, { what: 'the delivery' });
    expect(server.connected).toBe(true);

    let closed = false;
    const closing = server.close().then(() => (closed = true));
    expect(await pendingCount()).toBe(1);
    expect(closed).toBe(false);
    held.open();
    await closing;
    expect(await pendingCount()).toBe(0);
    expect(server.connected).toBe(false);

    await publish('click', [{ n: 2 }]);
    const [group] = (await admin.xinfo('GROUPS', stream)) as unknown[][];
    const info = pairs(group!);
    expect({ lag: info.get('lag'), pending: info.get('pending') }).toEqual({ lag: 1, pending: 0 });
    expect(seen).toHaveLength(1);
  });
});

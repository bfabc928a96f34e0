import pino from 'pino';
import { register } from 'prom-client';
import { createClickEvent, type ClickEvent } from './click-event';
import { ClickPublisher, type ClickTransport } from './publisher';

const logger = pino({ level: 'silent' });

/** A transport that records batches and fails while `down` is set. */
class RecordingTransport implements ClickTransport {
  readonly batches: ClickEvent[][] = [];
  down = false;
  closed = false;

  deliver(events: readonly ClickEvent[]): Promise<void> {
    if (this.down) return Promise.reject(new Error('broker down'));
    this.batches.push([...events]);
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  get delivered(): string[] {
    return this.batches.flat().map((e) => e.id);
  }
}

const click = (): ClickEvent => createClickEvent({ id: '1', code: 'c' }, { method: 'GET' }, null);

async function dropped(reason: string): Promise<number> {
  const metric = await register.getSingleMetric('snip_clicks_dropped_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Waits until `condition` holds, a few ms at a time, for at most 2 s; the test's expect then says what was not met. */
const until = async (condition: () => boolean | Promise<boolean>): Promise<void> => {
  for (let i = 0; i < 400 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('ClickPublisher', () => {
  it('sends full batches at once and the rest on the timer, in order', async () => {
    const transport = new RecordingTransport();
    const publisher = new ClickPublisher(
      transport,
      { bufferMax: 100, batchSize: 3, intervalMs: 20 },
      logger,
    );
    const events = Array.from({ length: 7 }, click);
    events.forEach((e) => publisher.publish(e));
    await until(() => transport.delivered.length === 7);
    expect(transport.delivered).toEqual(events.map((e) => e.id));
    expect(transport.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    await publisher.close();
  });

  it('keeps events through an outage, retries them, and counts what exceeds the bound', async () => {
    const transport = new RecordingTransport();
    transport.down = true;
    const publisher = new ClickPublisher(
      transport,
      { bufferMax: 5, batchSize: 2, intervalMs: 5, maxBackoffMs: 20 },
      logger,
    );
    const before = await dropped('buffer_full');
    const events = Array.from({ length: 8 }, click);
    events.forEach((e) => publisher.publish(e));
    await until(async () => (await dropped('buffer_full')) === before + 3);
    expect(await dropped('buffer_full')).toBe(before + 3);
    transport.down = false;
    await until(() => transport.delivered.length === 5);
    // The first batch was in flight when the buffer filled up: on failure there was no room to put
    // it back, so it is what the bound dropped (counted), along with the eighth event.
    expect(transport.delivered).toEqual(events.slice(2, 7).map((e) => e.id));
    await publisher.close();
  });

  it('flushes on close, and counts what it could not send by the deadline', async () => {
    const transport = new RecordingTransport();
    const publisher = new ClickPublisher(
      transport,
      { bufferMax: 100, batchSize: 50, intervalMs: 10_000 },
      logger,
    );
    publisher.publish(click());
    publisher.publish(click());
    await publisher.close();
    expect(transport.delivered).toHaveLength(2);
    expect(transport.closed).toBe(true);

    const down = new RecordingTransport();
    down.down = true;
    const stuck = new ClickPublisher(
      down,
      { bufferMax: 100, batchSize: 50, intervalMs: 10_000 },
      logger,
    );
    const before = await dropped('shutdown');
    stuck.publish(click());
    await stuck.close(100);
    expect(await dropped('shutdown')).toBe(before + 1);
    const closedBefore = await dropped('closed');
    stuck.publish(click());
    expect(await dropped('closed')).toBe(closedBefore + 1);
  });

  it('never throws from publish', () => {
    const transport = new RecordingTransport();
    const publisher = new ClickPublisher(
      transport,
      { bufferMax: 1, batchSize: 1, intervalMs: 10 },
      logger,
    );
    expect(() => {
      for (let i = 0; i < 100; i++) publisher.publish(click());
    }).not.toThrow();
    return publisher.close();
  });
});

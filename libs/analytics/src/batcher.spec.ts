import { Batcher } from './batcher';

describe('Batcher', () => {
  it('flushes at the size at once, and the remainder when the interval has passed', async () => {
    jest.useFakeTimers();
    try {
      const flushed: number[][] = [];
      const batcher = new Batcher<number>({ size: 3, intervalMs: 30 }, (items) => {
        flushed.push(items);
        return Promise.resolve();
      });
      const adds = [1, 2, 3, 4].map((n) => batcher.add(n));
      await Promise.all(adds.slice(0, 3));
      expect(flushed).toEqual([[1, 2, 3]]);
      await jest.advanceTimersByTimeAsync(29);
      expect(flushed).toEqual([[1, 2, 3]]);
      await jest.advanceTimersByTimeAsync(1);
      await adds[3];
      expect(flushed).toEqual([[1, 2, 3], [4]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('runs one flush at a time, in order', async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const batcher = new Batcher<number>({ size: 2, intervalMs: 5 }, async (items) => {
      running++;
      most = Math.max(most, running);
      // A flush that takes a few turns of the event loop, so that adds arrive while it runs.
      for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
      order.push(...items);
      running--;
    });
    await Promise.all(Array.from({ length: 9 }, (_, i) => batcher.add(i)));
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects every item of a failed batch, and only those', async () => {
    let calls = 0;
    const batcher = new Batcher<number>({ size: 2, intervalMs: 5 }, () =>
      ++calls === 1 ? Promise.reject(new Error('db down')) : Promise.resolve(),
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.add(n)));
    expect(results.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
  });

  it('drain flushes what waits and makes later items go at once', async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number>({ size: 100, intervalMs: 60_000 }, (items) => {
      flushed.push(items);
      return Promise.resolve();
    });
    const first = batcher.add(1);
    await batcher.drain();
    await first;
    await batcher.add(2);
    expect(flushed).toEqual([[1], [2]]);
  });
});

import { LinkIdPool } from './link-ids';

/** A sequence like PostgreSQL's, whose blocks are released only when the test says so. */
class FakeSequence {
  private nextValue = 1n;
  readonly requests: number[] = [];
  private readonly waiting: {
    count: number;
    done: (ids: bigint[]) => void;
    fail: (e: Error) => void;
  }[] = [];
  /** When true, blocks are handed out as soon as they are asked for. */
  autoRelease = true;
  failNext?: Error;

  readonly fetch = (count: number): Promise<bigint[]> => {
    this.requests.push(count);
    return new Promise((done, fail) => {
      this.waiting.push({ count, done, fail });
      if (this.autoRelease) this.releaseAll();
    });
  };

  get pending(): number {
    return this.waiting.length;
  }

  releaseAll(): void {
    for (const request of this.waiting.splice(0)) {
      if (this.failNext) {
        request.fail(this.failNext);
        this.failNext = undefined;
        continue;
      }
      const ids = Array.from({ length: request.count }, () => this.nextValue++);
      request.done(ids);
    }
  }
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((done) => setImmediate(done));

describe('LinkIdPool', () => {
  it('hands out unique ids across many blocks', async () => {
    const sequence = new FakeSequence();
    const pool = new LinkIdPool(10, sequence.fetch);
    const ids: bigint[] = [];
    for (let i = 0; i < 95; i++) ids.push(await pool.next());
    expect(new Set(ids).size).toBe(95);
    expect(sequence.requests.every((count) => count === 10)).toBe(true);
    // Ten blocks at most for 95 ids: no block is fetched and thrown away.
    expect(sequence.requests.length).toBeLessThanOrEqual(10);
  });

  it('hands out unique ids to many concurrent callers', async () => {
    const sequence = new FakeSequence();
    const pool = new LinkIdPool(5, sequence.fetch);
    const ids = await Promise.all(Array.from({ length: 200 }, () => pool.next()));
    expect(new Set(ids).size).toBe(200);
  });

  it('fetches the next block while half of the current one is still unused', async () => {
    const sequence = new FakeSequence();
    const pool = new LinkIdPool(10, sequence.fetch);
    await pool.next();
    expect(sequence.requests).toHaveLength(1);

    sequence.autoRelease = false;
    for (let i = 0; i < 5; i++) await pool.next();
    // Four ids are left in the first block, and the second one is already on its way.
    expect(sequence.requests).toHaveLength(2);
    // The remaining ids are handed out without waiting for it.
    for (let i = 0; i < 4; i++) await pool.next();
    expect(sequence.pending).toBe(1);
    // Only the eleventh caller waits, and gets the first id of the new block.
    const eleventh = pool.next();
    sequence.releaseAll();
    expect(await eleventh).toBe(11n);
  });

  it('lets concurrent callers of an empty pool share one fetch', async () => {
    const sequence = new FakeSequence();
    sequence.autoRelease = false;
    const pool = new LinkIdPool(10, sequence.fetch);
    const callers = Array.from({ length: 4 }, () => pool.next());
    await settle();
    expect(sequence.requests).toEqual([10]);
    sequence.releaseAll();
    expect((await Promise.all(callers)).sort()).toEqual([1n, 2n, 3n, 4n]);
    expect(sequence.requests).toEqual([10]);
  });

  it('surfaces a failed fetch to the waiting callers, then recovers on the next call', async () => {
    const sequence = new FakeSequence();
    sequence.autoRelease = false;
    const pool = new LinkIdPool(10, sequence.fetch);
    const failure = new Error('connection refused');
    sequence.failNext = failure;
    const first = pool.next();
    const second = pool.next();
    await settle();
    sequence.releaseAll();
    await expect(first).rejects.toBe(failure);
    await expect(second).rejects.toBe(failure);

    sequence.autoRelease = true;
    expect(await pool.next()).toBe(1n);
    expect(sequence.requests).toEqual([10, 10]);
  });

  it('keeps handing out its ids when a prefetch fails, and fetches again later', async () => {
    const sequence = new FakeSequence();
    const pool = new LinkIdPool(4, sequence.fetch);
    await pool.next(); // ids 2..4 left
    sequence.failNext = new Error('database restarting');
    const ids = [await pool.next(), await pool.next()]; // the prefetch fails, quietly
    await settle();
    ids.push(await pool.next(), await pool.next());
    expect(ids).toEqual([2n, 3n, 4n, 5n]);
    expect(sequence.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('does not leave an unhandled rejection behind a failed prefetch', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const sequence = new FakeSequence();
      const pool = new LinkIdPool(2, sequence.fetch);
      await pool.next(); // one id left
      // The next call empties the block and starts a prefetch, which fails.
      sequence.failNext = new Error('boom');
      await pool.next();
      await settle();
      await settle();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

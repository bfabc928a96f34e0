export interface BatcherOptions {
  /** Flush as soon as this many items wait. */
  readonly size: number;
  /** Flush at most this long after the first item of a batch arrived. */
  readonly intervalMs: number;
}

interface Waiting<T> {
  readonly item: T;
  readonly done: () => void;
  readonly fail: (error: unknown) => void;
}

/**
 * Gathers items into batches of `size`, or whatever arrived within `intervalMs`, and runs `flush`
 * on each batch, one batch at a time and in order. `add` resolves when the batch holding the item
 * has been flushed, and rejects if that flush failed: callers acknowledge only then.
 */
export class Batcher<T> {
  private waiting: Waiting<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private immediate = false;

  constructor(
    private readonly options: BatcherOptions,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.waiting.push({ item, done, fail });
      if (this.immediate || this.waiting.length >= this.options.size) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.options.intervalMs);
    });
  }

  /** Items waiting for their batch to start. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Flushes what waits now, and every later item at once; resolves when all flushes are done. */
  async drain(): Promise<void> {
    this.immediate = true;
    if (this.waiting.length > 0) this.cut();
    await this.tail;
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.size);
      this.tail = this.tail.then(async () => {
        try {
          await this.flush(batch.map((w) => w.item));
          for (const w of batch) w.done();
        } catch (error) {
          for (const w of batch) w.fail(error);
        }
      });
    }
  }
}

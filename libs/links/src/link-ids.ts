/**
 * Hands out link ids from blocks fetched ahead of time, so creating a link never waits on the
 * database for its id: a new block is requested while half of the current one is still unused.
 */
export class LinkIdPool {
  private readonly ids: bigint[] = [];
  private refill?: Promise<void>;

  constructor(
    private readonly blockSize: number,
    private readonly fetchBlock: (count: number) => Promise<bigint[]>,
  ) {}

  async next(): Promise<bigint> {
    for (;;) {
      const id = this.ids.shift();
      if (this.ids.length < this.blockSize / 2) this.startRefill();
      if (id !== undefined) return id;
      await this.refill;
    }
  }

  private startRefill(): void {
    this.refill ??= this.fetchBlock(this.blockSize)
      .then((block) => {
        this.ids.push(...block);
      })
      .finally(() => {
        this.refill = undefined;
      });
    // A failed prefetch surfaces to the caller that awaits it; nobody else must crash on it.
    this.refill.catch(() => undefined);
  }
}

import { TwoTierCache, type SharedTier, type TwoTierCacheOptions } from './two-tier-cache';

interface Item {
  readonly name: string;
  readonly version: number;
}

const codec = {
  encode: (item: Item) => item,
  decode: (data: unknown) => data as Item,
  version: (item: Item) => item.version,
};

/** An in-memory shared tier that keeps the newest version, like the Redis script. */
class FakeShared implements SharedTier {
  readonly docs = new Map<string, { raw: string; version: number; ttlMs: number }>();
  available = true;
  gets = 0;
  get(key: string): Promise<string | null> {
    this.gets++;
    return Promise.resolve(this.docs.get(key)?.raw ?? null);
  }
  setIfNewer(key: string, raw: string, version: number, ttlMs: number): Promise<void> {
    const current = this.docs.get(key);
    if (!current || current.version <= version) this.docs.set(key, { raw, version, ttlMs });
    return Promise.resolve();
  }
}

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
};

const flush = () => new Promise((done) => setImmediate(done));

function build(overrides: Partial<TwoTierCacheOptions<Item>> = {}) {
  const lookups: string[] = [];
  const cache = new TwoTierCache<Item>({
    codec,
    l1MaxEntries: 100,
    l1TtlMs: 5000,
    l2TtlMs: 86_400_000,
    negativeTtlMs: 1000,
    clock: { now: () => Date.now() },
    onLookup: (tier, result) => lookups.push(`${tier}:${result}`),
    ...overrides,
  });
  return { cache, lookups };
}

describe('TwoTierCache', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  it('serves L1 hits without loading again, until the TTL passes', async () => {
    const { cache, lookups } = build();
    const load = jest.fn((name: string) => Promise.resolve({ name, version: 1 }));
    expect(await cache.get('a', load)).toEqual({ name: 'a', version: 1 });
    await flush();
    expect(cache.get('a', load)).toEqual({ name: 'a', version: 1 });
    expect(load).toHaveBeenCalledTimes(1);
    expect(lookups).toEqual(['l1:miss', 'primary:hit', 'l1:hit']);
    jest.advanceTimersByTime(5001);
    await cache.get('a', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('bounds L1 by entries, dropping the least recently used', async () => {
    const { cache } = build({ l1MaxEntries: 2 });
    const load = jest.fn((name: string) => Promise.resolve({ name, version: 1 }));
    for (const key of ['a', 'b', 'c']) {
      await cache.get(key, load);
      await flush();
    }
    await cache.get('a', load);
    expect(load).toHaveBeenCalledTimes(4);
    await cache.get('c', load);
    expect(load).toHaveBeenCalledTimes(4);
  });

  it('remembers unknown keys for the negative TTL only', async () => {
    const { cache, lookups } = build();
    const load = jest.fn(() => Promise.resolve(null));
    expect(await cache.get('nope', load)).toBeNull();
    await flush();
    expect(cache.get('nope', load)).toBeNull();
    expect(load).toHaveBeenCalledTimes(1);
    expect(lookups).toContain('l1:negative');
    jest.advanceTimersByTime(1001);
    await cache.get('nope', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('coalesces concurrent misses on one key into one load', async () => {
    const onCoalesced = jest.fn();
    const { cache } = build({ onCoalesced });
    const pending = deferred<Item | null>();
    const load = jest.fn(() => pending.promise);
    const all = Promise.all([cache.get('a', load), cache.get('a', load), cache.get('a', load)]);
    pending.resolve({ name: 'a', version: 1 });
    expect(await all).toEqual([
      { name: 'a', version: 1 },
      { name: 'a', version: 1 },
      { name: 'a', version: 1 },
    ]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(onCoalesced).toHaveBeenCalledTimes(2);
  });

  it('passes a failed load to every waiter and caches nothing', async () => {
    const { cache } = build();
    const load = jest.fn(() => Promise.reject(new Error('db down')));
    await expect(Promise.all([cache.get('a', load), cache.get('a', load)])).rejects.toThrow(
      'db down',
    );
    expect(load).toHaveBeenCalledTimes(1);
    const ok = jest.fn(() => Promise.resolve({ name: 'a', version: 1 }));
    expect(await cache.get('a', ok)).toEqual({ name: 'a', version: 1 });
  });

  it('does not cache a look-up that was overtaken by a change', async () => {
    const { cache } = build();
    const pending = deferred<Item | null>();
    const first = cache.get('a', () => pending.promise);
    cache.evictLocal('a');
    pending.resolve({ name: 'old', version: 1 });
    expect(await first).toEqual({ name: 'old', version: 1 });
    await flush();
    const load = jest.fn(() => Promise.resolve({ name: 'new', version: 2 }));
    expect(await cache.get('a', load)).toEqual({ name: 'new', version: 2 });
  });

  describe('with a shared tier', () => {
    it('reads L2 before the source and fills L2 after a load', async () => {
      const shared = new FakeShared();
      const { cache, lookups } = build({ shared });
      const load = jest.fn((name: string) => Promise.resolve({ name, version: 7 }));
      await cache.get('a', load);
      await flush();
      expect(JSON.parse(shared.docs.get('a')!.raw)).toEqual({ v: 7, d: { name: 'a', version: 7 } });

      const other = build({ shared });
      expect(await other.cache.get('a', load)).toEqual({ name: 'a', version: 7 });
      expect(load).toHaveBeenCalledTimes(1);
      expect(lookups).toEqual(['l1:miss', 'l2:miss', 'primary:hit']);
      expect(other.lookups).toEqual(['l1:miss', 'l2:hit']);
    });

    it('shares negative entries with the short TTL', async () => {
      const shared = new FakeShared();
      const { cache } = build({ shared });
      await cache.get('nope', () => Promise.resolve(null));
      await flush();
      expect(shared.docs.get('nope')).toMatchObject({ version: 0, ttlMs: 1000 });
      const load = jest.fn(() => Promise.resolve(null));
      expect(await build({ shared }).cache.get('nope', load)).toBeNull();
      expect(load).not.toHaveBeenCalled();
    });

    it('writes through on put, and a stale fill never overwrites it', async () => {
      const shared = new FakeShared();
      const published: string[] = [];
      const bus = { publish: (key: string) => Promise.resolve(void published.push(key)) };
      const { cache } = build({ shared, bus });
      const pending = deferred<Item | null>();
      const slowRead = cache.get('a', () => pending.promise);
      await cache.put('a', { name: 'new', version: 2 }, 2);
      pending.resolve({ name: 'old', version: 1 });
      await slowRead;
      await flush();
      expect(published).toEqual(['a']);
      expect(JSON.parse(shared.docs.get('a')!.raw)).toEqual({
        v: 2,
        d: { name: 'new', version: 2 },
      });
      expect(cache.get('a', () => Promise.resolve(null))).toEqual({ name: 'new', version: 2 });
    });

    it('goes straight to the source while the shared tier is down', async () => {
      const shared = new FakeShared();
      shared.available = false;
      const { cache, lookups } = build({ shared });
      await cache.get('a', (name) => Promise.resolve({ name, version: 1 }));
      expect(shared.gets).toBe(0);
      expect(lookups).toEqual(['l1:miss', 'l2:error', 'primary:hit']);
    });

    it('works with L1 turned off', async () => {
      const shared = new FakeShared();
      const { cache, lookups } = build({ shared, l1MaxEntries: 0 });
      const load = jest.fn((name: string) => Promise.resolve({ name, version: 1 }));
      await cache.get('a', load);
      await flush();
      await cache.get('a', load);
      expect(load).toHaveBeenCalledTimes(1);
      expect(lookups).toEqual(['l2:miss', 'primary:hit', 'l2:hit']);
    });
  });

  describe('warm-up', () => {
    const item = (name: string, version = 1) => ({ key: name, value: { name, version } });

    it('writes L2 documents in the fill format, never over a newer version', async () => {
      const shared = new FakeShared();
      const { cache } = build({ shared });
      await cache.put('b', { name: 'b', version: 5 }, 5);
      const result = await cache.warm([item('a'), item('b', 2)]);
      expect(result).toEqual({ written: 2, keptNewer: 0 });
      expect(JSON.parse(shared.docs.get('a')!.raw)).toEqual({ v: 1, d: { name: 'a', version: 1 } });
      expect(shared.docs.get('a')!.ttlMs).toBe(86_400_000);
      expect(shared.docs.get('b')!.version).toBe(5);
    });

    it('counts what a pipelined tier kept because it held a newer version', async () => {
      const shared = Object.assign(new FakeShared(), {
        setManyIfNewer: jest.fn(() => Promise.resolve(1)),
      });
      const { cache } = build({ shared });
      expect(await cache.warm([item('a'), item('b')])).toEqual({ written: 1, keptNewer: 1 });
      expect(shared.setManyIfNewer).toHaveBeenCalledTimes(1);
    });

    it('fills L1 only as far as it has room, first entries first', async () => {
      const shared = new FakeShared();
      const { cache, lookups } = build({ shared, l1MaxEntries: 2 });
      await cache.warm([item('a'), item('b'), item('c')], true);
      const load = jest.fn(() => Promise.resolve(null));
      void cache.get('a', load);
      void cache.get('b', load);
      expect(lookups).toEqual(['l1:hit', 'l1:hit']);
      await cache.get('c', load);
      expect(lookups[2]).toBe('l1:miss');
      expect(load).not.toHaveBeenCalled();
    });

    it('loads keys from L2 into L1 and answers those L2 lacks', async () => {
      const shared = new FakeShared();
      const { cache: writer } = build({ shared });
      await writer.warm([item('a'), item('b')]);
      await writer.put('gone', null, 3);
      const { cache, lookups } = build({ shared });
      expect(await cache.loadLocal(['a', 'nope', 'b', 'gone'])).toEqual(['nope', 'gone']);
      expect(cache.get('a', () => Promise.resolve(null))).toEqual({ name: 'a', version: 1 });
      expect(lookups).toEqual(['l1:hit']);
    });

    it('announces warmed keys in chunks on the warm bus', async () => {
      const published: string[][] = [];
      const warmBus = {
        publish: (keys: readonly string[]) => (published.push([...keys]), Promise.resolve()),
      };
      const { cache } = build({ warmBus });
      await cache.announceWarm(Array.from({ length: 2500 }, (_, i) => `k${i}`));
      expect(published.map((keys) => keys.length)).toEqual([1000, 1000, 500]);
    });
  });

  describe('stale-if-error', () => {
    const unreachable = new Error('database unreachable');
    const staleOptions = {
      staleIfErrorMs: 60_000,
      staleIfError: (error: unknown) => error === unreachable,
    };
    const down = () => Promise.reject(unreachable);

    async function warm(overrides: Partial<TwoTierCacheOptions<Item>> = {}) {
      const built = build({ ...staleOptions, ...overrides });
      await built.cache.get('a', (name) => Promise.resolve({ name, version: 1 }));
      await flush();
      return built;
    }

    it('serves an expired entry when the source is unreachable, and keeps its age', async () => {
      const { cache, lookups } = await warm();
      jest.advanceTimersByTime(5001);
      expect(await cache.get('a', down)).toEqual({ name: 'a', version: 1 });
      expect(lookups.slice(-3)).toEqual(['l1:miss', 'primary:error', 'l1:stale']);
      await flush();
      // Not remembered as fresh: the next request tries the source again.
      const load = jest.fn(down);
      expect(await cache.get('a', load)).toEqual({ name: 'a', version: 1 });
      expect(load).toHaveBeenCalledTimes(1);
      // Past the bound (5 s TTL + 60 s), the error again.
      jest.advanceTimersByTime(60_000);
      await expect(cache.get('a', down)).rejects.toBe(unreachable);
    });

    it('takes a fresh value again once the source answers', async () => {
      const { cache } = await warm();
      jest.advanceTimersByTime(5001);
      await cache.get('a', down);
      await flush();
      await cache.get('a', () => Promise.resolve({ name: 'b', version: 2 }));
      await flush();
      expect(cache.get('a', down)).toEqual({ name: 'b', version: 2 });
    });

    it('passes other errors on', async () => {
      const { cache } = await warm();
      jest.advanceTimersByTime(5001);
      const bug = new Error('syntax error');
      await expect(cache.get('a', () => Promise.reject(bug))).rejects.toBe(bug);
    });

    it('never serves an evicted, deleted or unknown key', async () => {
      const { cache } = await warm();
      await cache.get('b', (name) => Promise.resolve({ name, version: 1 }));
      await cache.get('nope', () => Promise.resolve(null));
      await flush();
      cache.evictLocal('a');
      await cache.put('b', null, 2);
      jest.advanceTimersByTime(60_000);
      for (const key of ['a', 'b', 'nope'])
        await expect(cache.get(key, down)).rejects.toBe(unreachable);
    });

    it('is off with staleIfErrorMs 0', async () => {
      const { cache } = await warm({ staleIfErrorMs: 0 });
      jest.advanceTimersByTime(5001);
      await expect(cache.get('a', down)).rejects.toBe(unreachable);
    });
  });
});

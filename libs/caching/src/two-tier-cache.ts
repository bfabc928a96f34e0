import type { MaybePromise } from '@app/core';
import { LRUCache } from 'lru-cache';

/** How a cached value travels to and from the shared tier, and which of two copies is newer. */
export interface CacheCodec<T> {
  encode(value: T): unknown;
  decode(data: unknown): T;
  /** A number that grows with every change of the value (such as its updated-at time in ms). */
  version(value: T): number;
}

/** The shared tier (Redis): JSON documents `{ v, d }`, where `d` null means "no such key". */
export interface SharedTier {
  get(key: string): Promise<string | null>;
  /** Stores `document` unless the tier holds a newer version of the key. */
  setIfNewer(key: string, document: string, version: number, ttlMs: number): Promise<void>;
  /** False while the connection is down: the cache skips the tier instead of waiting on it. */
  readonly available: boolean;
  /**
   * Many `setIfNewer` in one round trip (a pipeline); how many were stored (the others were kept
   * because the tier held a newer version). Absent: the cache sends them one by one.
   */
  setManyIfNewer?(entries: readonly SharedEntry[]): Promise<number>;
  /** Replaces the hot set (the keys a warm-up chose, hottest first), kept for `ttlMs`. */
  replaceHot?(keys: readonly string[], ttlMs: number): Promise<void>;
  /** The first `limit` keys of the hot set, hottest first. */
  hotKeys?(limit: number): Promise<string[]>;
}

/** One document for the shared tier (see SharedTier.setIfNewer). */
export interface SharedEntry {
  readonly key: string;
  readonly document: string;
  readonly version: number;
  readonly ttlMs: number;
}

/** What a warm-up of a batch did in the shared tier. */
export interface WarmedBatch {
  /** Entries stored in L2. */
  readonly written: number;
  /** Entries left alone because L2 held a newer version (an update won). */
  readonly keptNewer: number;
}

/** Tells every instance's L1 to forget a key. */
export interface EvictionBus {
  publish(key: string): Promise<void>;
}

/** Tells every other instance to load keys from the shared tier into its L1. */
export interface WarmBus {
  publish(keys: readonly string[]): Promise<void>;
}

/** Keys per warm message on the bus. */
const WARM_MESSAGE_KEYS = 1000;

export type LookupTier = 'l1' | 'l2' | 'primary';
/** `stale`: an expired L1 entry served because the source failed (stale-if-error). */
export type LookupResult = 'hit' | 'negative' | 'miss' | 'error' | 'stale';

export interface TwoTierCacheOptions<T> {
  readonly codec: CacheCodec<T>;
  /** Most entries in L1; 0 turns L1 off. */
  readonly l1MaxEntries: number;
  readonly l1TtlMs: number;
  readonly l2TtlMs: number;
  readonly negativeTtlMs: number;
  /**
   * Stale-if-error: when `load` fails with an error this accepts, an L1 entry whose TTL ran out
   * at most `staleIfErrorMs` ago is served instead of the error. Known keys only (never "no such
   * key"), and never a key evicted or replaced through `put`/`evictLocal`. Off when unset or 0.
   */
  readonly staleIfErrorMs?: number;
  readonly staleIfError?: (error: unknown) => boolean;
  readonly shared?: SharedTier;
  readonly bus?: EvictionBus;
  /** Tells the other instances to load keys from L2 into their L1 (see announceWarm). */
  readonly warmBus?: WarmBus;
  /** The clock of L1's TTLs (tests pass their own); default `performance`. */
  readonly clock?: { now(): number };
  /** Called once per lookup step, for metrics. */
  readonly onLookup?: (tier: LookupTier, result: LookupResult) => void;
  /** A look-up that joined one already in flight instead of starting its own. */
  readonly onCoalesced?: () => void;
  /** Shared-tier failures: the cache carries on without the tier. */
  readonly onError?: (operation: 'get' | 'set' | 'publish', error: unknown) => void;
}

/** What L1 holds for a key known not to exist. */
const ABSENT = Symbol('absent');
type Entry<T> = T | typeof ABSENT;

interface Flight<T> {
  readonly promise: Promise<T | null>;
  /** Set when the key changed while the look-up ran: its result is returned but not cached. */
  stale: boolean;
}

/**
 * A read-through cache in two tiers: L1, a bounded in-process LRU with a short TTL, then L2, a
 * store shared by every instance, then the source of truth (`load`). Unknown keys are cached too
 * (negative caching, shorter TTL). Concurrent misses on one key share one look-up. Fills are never
 * awaited by the caller: L1 is filled at once, L2 in the background, and L2 only ever moves
 * forward (a stale fill cannot overwrite a newer write).
 */
export class TwoTierCache<T extends object> {
  private readonly l1?: LRUCache<string, Entry<T>>;
  private readonly flights = new Map<string, Flight<T>>();
  private readonly noop = (): void => undefined;

  constructor(private readonly options: TwoTierCacheOptions<T>) {
    if (options.l1MaxEntries > 0) {
      this.l1 = new LRUCache<string, Entry<T>>({
        max: options.l1MaxEntries,
        ttl: options.l1TtlMs,
        // An expired entry stays (until the LRU drops it or a fresh value replaces it), for
        // stale-if-error; get() still answers only fresh ones.
        noDeleteOnStaleGet: this.servesStale,
        ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
      });
    }
  }

  /** The value of `key`, or null when the source says it does not exist. */
  get(key: string, load: (key: string) => Promise<T | null>): MaybePromise<T | null> {
    const { onLookup = this.noop } = this.options;
    const cached = this.l1?.get(key);
    if (cached !== undefined) {
      onLookup('l1', cached === ABSENT ? 'negative' : 'hit');
      return cached === ABSENT ? null : cached;
    }
    if (this.l1) onLookup('l1', 'miss');
    const flight = this.flights.get(key);
    if (flight) {
      this.options.onCoalesced?.();
      return flight.promise;
    }
    const looked = this.lookUp(key, load);
    const started: Flight<T> = {
      promise: this.servesStale
        ? looked.catch((error) => this.staleOr(key, error, started))
        : looked,
      stale: false,
    };
    this.flights.set(key, started);
    void started.promise.then(
      (value) => {
        this.flights.delete(key);
        if (!started.stale) this.remember(key, value);
      },
      () => this.flights.delete(key),
    );
    return started.promise;
  }

  /**
   * Records that `key` now holds `value` (null: it no longer exists) as of `version`: L2 is
   * written and awaited, and every instance's L1 forgets the key.
   */
  async put(key: string, value: T | null, version: number): Promise<void> {
    const flight = this.flights.get(key);
    if (flight) flight.stale = true;
    const { shared, bus, onError = this.noop } = this.options;
    if (shared) {
      const ttl = value === null ? this.options.negativeTtlMs : this.options.l2TtlMs;
      await shared
        .setIfNewer(key, this.document(value, version), version, ttl)
        .catch((error: unknown) => onError('set', error));
    }
    this.remember(key, value);
    await bus?.publish(key).catch((error: unknown) => onError('publish', error));
  }

  /** Forgets `key` in this instance's L1 (what the eviction bus delivers). */
  evictLocal(key: string): void {
    const flight = this.flights.get(key);
    if (flight) flight.stale = true;
    this.l1?.delete(key);
  }

  clearLocal(): void {
    this.l1?.clear();
  }

  /** Whether this instance's L1 holds a fresh value for `key` (without counting as a use). */
  holdsLocally(key: string): boolean {
    const entry = this.l1?.peek(key);
    return entry !== undefined && entry !== ABSENT;
  }

  /** True while there is a shared tier and it is known to be down. */
  get sharedDown(): boolean {
    return this.options.shared !== undefined && !this.options.shared.available;
  }

  /** How many entries L1 holds at most (0 when it is off). */
  get localCapacity(): number {
    return this.l1 ? this.options.l1MaxEntries : 0;
  }

  /**
   * Writes `entries` (values known from the source at their versions) to L2 in one pipeline, in
   * the format and with the version rule of every other write: an entry L2 holds at a newer
   * version is kept. With `local`, this instance's L1 takes them too (as far as it has room).
   * Without a shared tier only L1 is filled, and nothing counts as written.
   */
  async warm(entries: readonly { key: string; value: T }[], local = false): Promise<WarmedBatch> {
    if (local)
      for (const { key, value } of entries.slice(0, this.localCapacity)) this.remember(key, value);
    const { shared } = this.options;
    if (!shared || entries.length === 0) return { written: 0, keptNewer: 0 };
    const documents: SharedEntry[] = entries.map(({ key, value }) => {
      const version = this.options.codec.version(value);
      return { key, document: this.document(value, version), version, ttlMs: this.options.l2TtlMs };
    });
    let written = 0;
    if (shared.setManyIfNewer) {
      written = await shared.setManyIfNewer(documents);
    } else {
      for (const entry of documents) {
        await shared.setIfNewer(entry.key, entry.document, entry.version, entry.ttlMs);
        written++;
      }
    }
    return { written, keptNewer: entries.length - written };
  }

  /**
   * Loads `keys` from L2 into this instance's L1 (the first `localCapacity` of them, in order),
   * known links only; answers the keys L2 did not hold. L2 reads are batched (MGET).
   */
  async loadLocal(keys: readonly string[]): Promise<string[]> {
    const { shared, codec } = this.options;
    const wanted = keys.slice(0, this.localCapacity);
    if (!shared?.available || wanted.length === 0) return [...wanted];
    const raws = await Promise.all(wanted.map((key) => shared.get(key)));
    const missing: string[] = [];
    raws.forEach((raw, i) => {
      const key = wanted[i]!;
      const d = raw === null ? null : (JSON.parse(raw) as { d: unknown }).d;
      if (d === null) missing.push(key);
      else this.remember(key, codec.decode(d));
    });
    return missing;
  }

  /** Tells the other instances (WarmBus) to load `keys` from L2 into their L1, in chunks. */
  async announceWarm(keys: readonly string[]): Promise<void> {
    const { warmBus, onError = this.noop } = this.options;
    if (!warmBus) return;
    for (let i = 0; i < keys.length; i += WARM_MESSAGE_KEYS) {
      await warmBus
        .publish(keys.slice(i, i + WARM_MESSAGE_KEYS))
        .catch((error: unknown) => onError('publish', error));
    }
  }

  /** Records the hot set in L2 (what an instance without a database warms its L1 from). */
  async rememberHot(keys: readonly string[]): Promise<void> {
    await this.options.shared?.replaceHot?.(keys, this.options.l2TtlMs);
  }

  /**
   * Loads the first `limit` keys of the hot set (see rememberHot) from L2 into L1: the warm-up of
   * an instance that has Redis but no database (the edge). Answers how many L1 took.
   */
  async warmLocalFromHot(limit: number): Promise<number> {
    const { shared } = this.options;
    if (!shared?.hotKeys || !shared.available || limit <= 0) return 0;
    const keys = (await shared.hotKeys(Math.min(limit, this.localCapacity))) ?? [];
    const missing = await this.loadLocal(keys);
    return Math.min(keys.length, this.localCapacity) - missing.length;
  }

  private get servesStale(): boolean {
    return (this.options.staleIfErrorMs ?? 0) > 0 && this.options.staleIfError !== undefined;
  }

  /**
   * The expired L1 value of `key` when `error` allows serving it and it expired recently enough;
   * otherwise `error` again. A stale value is not remembered again (its age must keep counting).
   */
  private staleOr(key: string, error: unknown, flight: Flight<T>): T {
    const { staleIfError, staleIfErrorMs = 0, onLookup = this.noop } = this.options;
    if (!this.l1 || !staleIfError?.(error)) throw error;
    const value = this.l1.peek(key, { allowStale: true });
    // getRemainingTTL is negative by how long ago the entry expired.
    if (value === undefined || value === ABSENT || -this.l1.getRemainingTTL(key) > staleIfErrorMs) {
      throw error;
    }
    flight.stale = true;
    onLookup('l1', 'stale');
    return value;
  }

  private async lookUp(key: string, load: (key: string) => Promise<T | null>): Promise<T | null> {
    const { shared, onLookup = this.noop, onError = this.noop } = this.options;
    if (shared) {
      if (shared.available) {
        try {
          const raw = await shared.get(key);
          if (raw !== null) {
            const { d } = JSON.parse(raw) as { d: unknown };
            onLookup('l2', d === null ? 'negative' : 'hit');
            return d === null ? null : this.options.codec.decode(d);
          }
          onLookup('l2', 'miss');
        } catch (error) {
          onLookup('l2', 'error');
          onError('get', error);
        }
      } else {
        onLookup('l2', 'error');
      }
    }
    let value: T | null;
    try {
      value = await load(key);
    } catch (error) {
      onLookup('primary', 'error');
      throw error;
    }
    onLookup('primary', value === null ? 'miss' : 'hit');
    if (shared?.available) {
      const version = value === null ? 0 : this.options.codec.version(value);
      const ttl = value === null ? this.options.negativeTtlMs : this.options.l2TtlMs;
      shared
        .setIfNewer(key, this.document(value, version), version, ttl)
        .catch((error: unknown) => onError('set', error));
    }
    return value;
  }

  private remember(key: string, value: T | null): void {
    if (value === null) this.l1?.set(key, ABSENT, { ttl: this.options.negativeTtlMs });
    else this.l1?.set(key, value);
  }

  private document(value: T | null, version: number): string {
    return JSON.stringify({
      v: version,
      d: value === null ? null : this.options.codec.encode(value),
    });
  }
}

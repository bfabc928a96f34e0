import { Injectable } from '@nestjs/common';
import type { TwoTierCache } from '@app/caching';
import { CODE_PATTERN } from './alias-policy';
import { cacheUnavailable } from './links.errors';
import type { RedirectTarget } from './link-cache';
import { LinksRepository } from './links.repository';
import { LinksService } from './links.service';

/** Most codes `--top` / `{ top }` may ask for. */
export const WARM_TOP_MAX = 100_000;
/** Most codes one request body may list (within HTTP_BODY_LIMIT_BYTES); a file, WARM_FILE_MAX. */
export const WARM_CODES_MAX = 1000;
export const WARM_FILE_MAX = 100_000;
/** `--all` / `{ all: true }` warms at most `limit` links: this many unless told, never above the max. */
export const WARM_ALL_DEFAULT = 100_000;
export const WARM_ALL_MAX = 1_000_000;
/** The click window of a top-N warm-up unless told, and the longest one. */
export const WARM_SINCE_DEFAULT = '24h';
const WARM_SINCE_MAX_MS = 366 * 86_400_000;
/** Links read (one keyset batch) and written (one Redis pipeline) at a time. */
const WARM_BATCH = 1000;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90m`, `24h`, `7d` as milliseconds; undefined when it is none of those (or over 366 days). */
export function parseSince(text: string): number | undefined {
  const match = /^([1-9]\d{0,5})([mhd])$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return ms <= WARM_SINCE_MAX_MS ? ms : undefined;
}

/** Which links a warm-up loads. */
export type WarmSelection =
  /** The `top` links with the most clicks in the daily rollups of the last `sinceMs`. */
  | { readonly kind: 'top'; readonly top: number; readonly sinceMs: number }
  /** These codes (invalid ones are counted, not fatal). */
  | { readonly kind: 'codes'; readonly codes: readonly string[] }
  /** Every live link, by id, up to `limit`. */
  | { readonly kind: 'all'; readonly limit: number };

export interface WarmOptions {
  /** Also load the links into L1: this instance's, and every other's through the warm channel. */
  readonly l1?: boolean;
  /** Stops between batches (the boot warm-up's time bound). */
  readonly signal?: AbortSignal;
  /** Called after each batch (progress, and tests). */
  readonly onBatch?: (done: number) => void;
}

export interface WarmResult {
  /** Links found and sent to L2. */
  readonly links: number;
  /** L2 entries written. */
  readonly written: number;
  /** Entries L2 already held at a newer version (an update won; left alone). */
  readonly keptNewer: number;
  /** Codes asked for (or ranked by clicks) that are unknown or deleted. */
  readonly missing: number;
  /** Codes that are not codes at all (a codes list only). */
  readonly invalid: number;
  /** Codes this instance's L1 took, and that the other instances were told to load. */
  readonly l1: number;
  readonly durationMs: number;
}

/** One turn of the event loop: what lets redirects through between two batches. */
const yieldToLoop = (): Promise<void> => new Promise((done) => setImmediate(done));

/**
 * Fills the link cache ahead of traffic: reads links from a replica in keyset batches and writes
 * each batch to L2 in one pipeline, in the cache's own format and version rule (an entry an update
 * wrote meanwhile is never overwritten), yielding to the event loop between batches so that
 * redirects keep being served. Optionally loads them into every instance's L1 (bounded by its size).
 */
@Injectable()
export class CacheWarmer {
  private readonly cache: TwoTierCache<RedirectTarget>;

  constructor(
    private readonly repository: LinksRepository,
    links: LinksService,
  ) {
    this.cache = links.linkCache;
  }

  /**
   * Warms the links of `selection`. While Redis is down (at the start, or a batch failed because it
   * went away) it fails with 503 SERVICE_UNAVAILABLE; what was written stays written.
   */
  async warm(selection: WarmSelection, options: WarmOptions = {}): Promise<WarmResult> {
    if (this.cache.sharedDown) throw cacheUnavailable();
    try {
      return await this.warmBatches(selection, options);
    } catch (error) {
      if (this.cache.sharedDown) throw cacheUnavailable();
      throw error;
    }
  }

  private async warmBatches(selection: WarmSelection, options: WarmOptions): Promise<WarmResult> {
    const started = performance.now();
    const totals = { links: 0, written: 0, keptNewer: 0, missing: 0, invalid: 0, l1: 0 };
    const local = options.l1 ?? false;
    const hot: string[] = [];
    for await (const batch of this.batches(selection, totals)) {
      options.signal?.throwIfAborted();
      const room = local ? Math.max(0, this.cache.localCapacity - totals.l1) : 0;
      const entries = batch.map((link) => ({ key: link.code, value: link }));
      // The first `room` go to this L1 (hottest first); the rest only to L2.
      if (room > 0) await this.cache.warm(entries.slice(0, room), true).then(add);
      if (entries.length > room) await this.cache.warm(entries.slice(room)).then(add);
      const l1Codes = entries.slice(0, room).map((entry) => entry.key);
      totals.links += batch.length;
      totals.l1 += l1Codes.length;
      if (l1Codes.length > 0) await this.cache.announceWarm(l1Codes);
      if (selection.kind === 'top') for (const link of batch) hot.push(link.code);
      options.onBatch?.(totals.links);
      await yieldToLoop();
    }
    if (selection.kind === 'top') await this.cache.rememberHot(hot);
    return { ...totals, durationMs: Math.round(performance.now() - started) };

    function add(result: { written: number; keptNewer: number }): void {
      totals.written += result.written;
      totals.keptNewer += result.keptNewer;
    }
  }

  /**
   * A starting instance's warm-up: the top `top` codes of the window into L1, read from L2 where
   * it holds them and from the database (then written to L2 too) where it does not. Answers how
   * many L1 took; stops between batches once `signal` aborts.
   */
  async warmOnBoot(top: number, sinceMs: number, signal?: AbortSignal): Promise<number> {
    const ids = await this.repository.topLinkIds(dayOf(sinceMs), Math.min(top, WARM_TOP_MAX));
    let loaded = 0;
    for (let i = 0; i < ids.length && loaded < this.cache.localCapacity; i += WARM_BATCH) {
      signal?.throwIfAborted();
      const links = ranked(await this.repository.targetsByIds(ids.slice(i, i + WARM_BATCH)), ids);
      const missing = new Set(await this.cache.loadLocal(links.map((link) => link.code)));
      const fromDb = links.filter((link) => missing.has(link.code));
      await this.cache.warm(
        fromDb.map((link) => ({ key: link.code, value: link })),
        true,
      );
      loaded += Math.min(links.length, this.cache.localCapacity - loaded);
      await yieldToLoop();
    }
    return loaded;
  }

  private async *batches(
    selection: WarmSelection,
    totals: { missing: number; invalid: number },
  ): AsyncGenerator<RedirectTarget[]> {
    switch (selection.kind) {
      case 'top': {
        const ids = await this.repository.topLinkIds(dayOf(selection.sinceMs), selection.top);
        for (let i = 0; i < ids.length; i += WARM_BATCH) {
          const chunk = ids.slice(i, i + WARM_BATCH);
          const links = ranked(await this.repository.targetsByIds(chunk), chunk);
          totals.missing += chunk.length - links.length;
          yield links;
        }
        return;
      }
      case 'codes': {
        const valid = [...new Set(selection.codes)].filter((code) => CODE_PATTERN.test(code));
        totals.invalid += new Set(selection.codes).size - valid.length;
        for (let i = 0; i < valid.length; i += WARM_BATCH) {
          const chunk = valid.slice(i, i + WARM_BATCH);
          const links = await this.repository.targetsByCodes(chunk);
          totals.missing += chunk.length - links.length;
          yield links;
        }
        return;
      }
      case 'all': {
        let after = '0';
        for (let left = selection.limit; left > 0;) {
          const links = await this.repository.targetsAfter(after, Math.min(WARM_BATCH, left));
          if (links.length === 0) return;
          yield links;
          left -= links.length;
          after = links[links.length - 1]!.id;
        }
      }
    }
  }
}

/** `links` in the order of `ids` (a database answers ANY(...) in its own order). */
function ranked(links: RedirectTarget[], ids: readonly string[]): RedirectTarget[] {
  const rank = new Map(ids.map((id, i) => [id, i]));
  return links.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
}

/** The first UTC day a window of `sinceMs` ending now touches (rollups are by UTC day). */
function dayOf(sinceMs: number, now = Date.now()): string {
  return new Date(now - sinceMs).toISOString().slice(0, 10);
}

import { Injectable } from '@nestjs/common';
import { CacheFactory, type TwoTierCache } from '@app/caching';
import { thenMaybe, type MaybePromise } from '@app/core';
import { ApiServerConfig, LinksConfig } from '@app/config';
import { databaseUnreachableCause } from '@app/database';
import { ValidationFailedError } from '@app/core';
import { AliasPolicy, CODE_PATTERN } from './alias-policy';
import { LINK_CACHE, linkCacheCodec, toRedirectTarget, type RedirectTarget } from './link-cache';
import { Link, linkState, type LinkState, type RedirectType } from './link.entity';
import { LinkIdPool } from './link-ids';
import { LinkBlocklist } from './link-blocklist';
import {
  aliasTaken,
  codeSpaceExhausted,
  invalidCursor,
  linkNotFound,
  urlBlocked,
} from './links.errors';
import {
  CodeTakenError,
  LinksRepository,
  type LinkSort,
  type PagePosition,
} from './links.repository';
import { ShortCodeCodec } from './short-code';
import { UrlPolicy } from './url-policy';

export interface CreateLinkInput {
  readonly url: string;
  readonly alias?: string;
  readonly expiresAt?: Date;
  readonly redirectType?: RedirectType;
  /** The API key creating the link; null or absent when created without one. */
  readonly ownerKeyId?: string | null;
  /** Redirects the link answers at most; absent or null for no cap. */
  readonly maxClicks?: number | null;
}

export interface UpdateLinkInput {
  readonly url?: string;
  readonly expiresAt?: Date | null;
  readonly redirectType?: RedirectType;
  readonly disabled?: boolean;
  /** A new cap; null removes it. */
  readonly maxClicks?: number | null;
}

export interface LinkPage {
  readonly items: Link[];
  readonly nextCursor: string | null;
}

/** Which links a caller may see and change: all of them, or only those its API key created. */
export interface LinkScope {
  readonly ownerKeyId?: string;
}

/** What a redirect needs to know about a code. */
export type Resolution =
  | { readonly state: 'missing' }
  | { readonly state: Exclude<LinkState, 'active'>; readonly link: RedirectTarget }
  | { readonly state: 'active'; readonly link: RedirectTarget };

const MISSING: Resolution = { state: 'missing' };

/** What `link` (null: no such code) means for a redirect at `now`; the edge resolves with it too. */
export const resolution = (link: RedirectTarget | null, now: Date): Resolution =>
  link ? { state: linkState(link, now), link } : MISSING;

/** What enforcing the blocklist did. */
export interface BlocklistEnforcement {
  /** The blocked domains enforced. */
  readonly domains: string[];
  /** How many links were disabled. */
  readonly disabled: number;
  /** Their codes (the first ENFORCE_CODES_SHOWN of them). */
  readonly codes: string[];
}

/** Links disabled (and evicted) per statement when the blocklist is enforced. */
const ENFORCE_BATCH = 500;
/** Codes the enforcement summary lists at most. */
export const ENFORCE_CODES_SHOWN = 1000;

/** A generated code can collide only with an alias that happens to look like one; skip it. */
const MAX_GENERATED_ATTEMPTS = 8;

@Injectable()
export class LinksService {
  private readonly codec: ShortCodeCodec;
  private readonly urls: UrlPolicy;
  private readonly aliases: AliasPolicy;
  private readonly ids: LinkIdPool;
  private readonly cache: TwoTierCache<RedirectTarget>;

  constructor(
    private readonly repository: LinksRepository,
    config: LinksConfig,
    server: ApiServerConfig,
    caches: CacheFactory,
    private readonly blocklist: LinkBlocklist,
  ) {
    if (!config.codeSecret) {
      throw new Error('SHORT_CODE_SECRET is unset: start-up provides one (withLocalCodeSecret)');
    }
    this.codec = new ShortCodeCodec(config.codeLength, config.codeSecret);
    this.urls = new UrlPolicy({
      maxLength: config.urlMaxLength,
      selfOrigins: [server.publicBaseUrl],
      selfHosts: config.selfHosts,
      allowPrivateTargets: config.allowPrivateTargets,
      blocklist,
    });
    this.aliases = new AliasPolicy(config.reservedAliases);
    this.ids = new LinkIdPool(config.idBlockSize, (count) => repository.allocateIds(count));
    // Stale-if-error: while the database cannot be reached, a link seen lately keeps redirecting.
    this.cache = caches.create(LINK_CACHE, linkCacheCodec, isDatabaseUnreachable);
  }

  /** The link cache (the warm-up fills it; see CacheWarmer). */
  get linkCache(): TwoTierCache<RedirectTarget> {
    return this.cache;
  }

  /** Creates a link and writes it through to the cache (a code scanned before stops 404ing). */
  async create(input: CreateLinkInput, now = new Date()): Promise<Link> {
    const link = await this.insert(input, now);
    await this.cache.put(link.code, toRedirectTarget(link), link.updatedAt.getTime());
    return link;
  }

  private async insert(input: CreateLinkInput, now: Date): Promise<Link> {
    const url = this.urls.normalize(input.url);
    assertFuture(input.expiresAt, now);
    const fields = {
      url,
      redirectType: input.redirectType ?? 302,
      expiresAt: input.expiresAt ?? null,
      ownerKeyId: input.ownerKeyId ?? null,
      maxClicks: input.maxClicks ?? null,
    };
    if (input.alias !== undefined) {
      this.aliases.assertAllowed(input.alias);
      const id = await this.ids.next();
      try {
        return await this.repository.insert(
          { ...fields, id: id.toString(), code: input.alias, isCustom: true },
          now,
        );
      } catch (error) {
        if (error instanceof CodeTakenError) throw aliasTaken(input.alias);
        throw error;
      }
    }
    for (let attempt = 1; ; attempt++) {
      const id = await this.ids.next();
      if (id >= this.codec.capacity) throw codeSpaceExhausted();
      const code = this.codec.encode(id);
      // A generated code can spell a reserved word ("metrics" at length 7): skip that id.
      if (this.aliases.isReserved(code)) continue;
      try {
        return await this.repository.insert(
          { ...fields, id: id.toString(), code, isCustom: false },
          now,
        );
      } catch (error) {
        if (!(error instanceof CodeTakenError) || attempt >= MAX_GENERATED_ATTEMPTS) throw error;
      }
    }
  }

  async get(code: string, scope: LinkScope = {}): Promise<Link> {
    const link = CODE_PATTERN.test(code)
      ? await this.repository.findByCode(code, scope.ownerKeyId)
      : null;
    if (!link) throw linkNotFound(code);
    return link;
  }

  /**
   * A page of links in `sort` order (newest first by default); `cursor` is the `nextCursor` of
   * the previous page of the same order. Counts change while a client pages by clicks: a link
   * whose count moves past the cursor meanwhile is seen twice or not at all (ties never are).
   */
  async list(
    limit: number,
    cursor?: string,
    scope: LinkScope = {},
    sort: LinkSort = '-createdAt',
  ): Promise<LinkPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, sort);
    const rows = await this.repository.list(sort, limit + 1, after, scope.ownerKeyId);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last, sort) : null,
    };
  }

  /** Applies `input`; the cache, in every instance, follows within a second. */
  async update(
    code: string,
    input: UpdateLinkInput,
    scope: LinkScope = {},
    now = new Date(),
  ): Promise<Link> {
    const url = input.url === undefined ? undefined : this.urls.normalize(input.url);
    assertFuture(input.expiresAt ?? undefined, now);
    if (url === undefined && input.disabled === false) await this.assertNotBlocked(code, scope);
    const link = CODE_PATTERN.test(code)
      ? await this.repository.update(
          code,
          {
            url,
            expiresAt: input.expiresAt,
            redirectType: input.redirectType,
            disabled: input.disabled,
            maxClicks: input.maxClicks,
          },
          now,
          scope.ownerKeyId,
        )
      : null;
    if (!link) throw linkNotFound(code);
    await this.cache.put(link.code, toRedirectTarget(link), link.updatedAt.getTime());
    return link;
  }

  /** Enabling a link again: refused while its (unchanged) target is on the blocklist. */
  private async assertNotBlocked(code: string, scope: LinkScope): Promise<void> {
    const current = CODE_PATTERN.test(code)
      ? await this.repository.findByCode(code, scope.ownerKeyId)
      : null;
    const blocked = current && this.urls.blockedDomainOf(current.url);
    if (blocked) throw urlBlocked(blocked);
  }

  /**
   * Disables every live link whose target is a blocked domain or under one, and evicts each from
   * every cache tier (L2, and L1 on every instance through the eviction channel), so that its
   * redirect answers 410 at once. Reads the blocklist file first, in case it changed since the
   * last poll.
   */
  async enforceBlocklist(now = new Date()): Promise<BlocklistEnforcement> {
    await this.blocklist.reload();
    const domains = this.blocklist.domains;
    const codes: string[] = [];
    let disabled = 0;
    for (;;) {
      const batch = await this.repository.disableByDomains(domains, now, ENFORCE_BATCH);
      await Promise.all(
        batch.map((link) => this.cache.put(link.code, link, link.updatedAt.getTime())),
      );
      disabled += batch.length;
      for (const link of batch) if (codes.length < ENFORCE_CODES_SHOWN) codes.push(link.code);
      if (batch.length < ENFORCE_BATCH) return { domains, disabled, codes };
    }
  }

  async delete(code: string, scope: LinkScope = {}, now = new Date()): Promise<void> {
    const deleted =
      CODE_PATTERN.test(code) && (await this.repository.markDeleted(code, now, scope.ownerKeyId));
    if (!deleted) throw linkNotFound(code);
    await this.cache.put(code, null, now.getTime());
  }

  /**
   * Says whether, and where, `code` redirects at `now`: from the link cache (L1, then L2), else
   * the primary, so that a link created a moment ago never 404s because a replica lags. A value,
   * not a promise, when L1 answers.
   */
  resolve(code: string, now = new Date()): MaybePromise<Resolution> {
    if (!CODE_PATTERN.test(code)) return MISSING;
    // Synchronous on an L1 hit: the hottest redirects allocate no promise and skip a microtask.
    return thenMaybe(this.cache.get(code, this.loadTarget), (link) => resolution(link, now));
  }

  private readonly loadTarget = async (code: string): Promise<RedirectTarget | null> => {
    const link = await this.repository.findByCode(code);
    return link && toRedirectTarget(link);
  };
}

const isDatabaseUnreachable = (error: unknown): boolean =>
  databaseUnreachableCause(error) !== undefined;

function assertFuture(expiresAt: Date | undefined, now: Date): void {
  if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) {
    throw new ValidationFailedError([{ field: 'expiresAt', message: 'must be in the future' }]);
  }
}

/**
 * A page's end as an opaque cursor. Newest first (the default) keeps the cursor of versions
 * before other orders existed, `<created ms>:<id>`; the others name their order,
 * `<sort>:<key>:<id>`, so that a cursor is only ever read in the order that issued it.
 */
function encodeCursor(link: Link, sort: LinkSort): string {
  const key = sort.endsWith('clicks') ? link.clicks : link.createdAt.getTime();
  const text = sort === '-createdAt' ? `${key}:${link.id}` : `${sort}:${key}:${link.id}`;
  return Buffer.from(text).toString('base64url');
}

/** Largest value of a PostgreSQL bigint, the type of link ids. */
const MAX_ID = 2n ** 63n - 1n;

function decodeCursor(cursor: string, sort: LinkSort): PagePosition {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const prefix = sort === '-createdAt' ? '' : `${sort}:`;
  const match = text.startsWith(prefix)
    ? /^(\d{1,15}):(\d{1,20})$/.exec(text.slice(prefix.length))
    : null;
  if (!match?.[1] || !match[2] || BigInt(match[2]) > MAX_ID) throw invalidCursor();
  const key = Number(match[1]);
  return sort.endsWith('clicks')
    ? { by: 'clicks', clicks: key, id: match[2] }
    : { by: 'createdAt', createdAt: new Date(key), id: match[2] };
}

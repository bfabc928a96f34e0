import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ReplicaReads } from '@app/database';
import { DataSource, QueryFailedError } from 'typeorm';
import type { RedirectTarget } from './link-cache';
import { Link, type RedirectType } from './link.entity';

export interface NewLink {
  readonly id: string;
  readonly code: string;
  readonly url: string;
  readonly isCustom: boolean;
  readonly redirectType: RedirectType;
  readonly expiresAt: Date | null;
  readonly ownerKeyId: string | null;
  readonly maxClicks: number | null;
}

export interface LinkChanges {
  readonly url?: string;
  readonly redirectType?: RedirectType;
  readonly expiresAt?: Date | null;
  readonly disabled?: boolean;
  readonly maxClicks?: number | null;
}

/** The orders a list of links comes in: by creation time or click total, `-` for descending. */
export const LINK_SORTS = ['-createdAt', 'createdAt', '-clicks', 'clicks'] as const;
export type LinkSort = (typeof LINK_SORTS)[number];

/**
 * Where a page ends: the sort key of its last link and, for ties (many links have 0 clicks, or
 * were created in one millisecond), its id.
 */
export type PagePosition =
  | { readonly by: 'createdAt'; readonly createdAt: Date; readonly id: string }
  | { readonly by: 'clicks'; readonly clicks: number; readonly id: string };

/** A unique-index violation on the code: the code (or alias) is already taken. */
export class CodeTakenError extends Error {
  constructor(readonly code: string) {
    super(`code ${code} is taken`);
    this.name = 'CodeTakenError';
  }
}

const UNIQUE_VIOLATION = '23505';
const CODE_INDEX = 'links_code_key';

function isCodeConflict(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === UNIQUE_VIOLATION && driverError.constraint === CODE_INDEX;
}

/** Leaves out the keys whose value is undefined ("not changed"); null stays ("clear it"). */
function definedOnly<T extends object>(changes: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/**
 * All SQL about links. Writes and redirect look-ups use the primary; lists use a replica when one
 * is configured and reachable (the primary otherwise, see ReplicaReads).
 */
@Injectable()
export class LinksRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReplicaReads,
  ) {}

  /** Takes `count` fresh ids from the sequence in one round trip. */
  async allocateIds(count: number): Promise<bigint[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT nextval('link_id_seq')::text AS id FROM generate_series(1, $1)`,
      [count],
    );
    return rows.map((row) => BigInt(row.id));
  }

  /** Inserts a link; throws CodeTakenError when its code already exists (deleted links count). */
  async insert(link: NewLink, now: Date): Promise<Link> {
    const entity = this.dataSource.manager.create(Link, {
      ...link,
      clicks: 0,
      disabled: false,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    });
    try {
      await this.dataSource.manager.insert(Link, entity);
    } catch (error) {
      if (isCodeConflict(error)) throw new CodeTakenError(link.code);
      throw error;
    }
    return entity;
  }

  /**
   * The link with `code` unless deleted (and, given `ownerKeyId`, only if that key created it),
   * read from the primary (never stale).
   */
  findByCode(code: string, ownerKeyId?: string): Promise<Link | null> {
    const query = this.dataSource.manager
      .createQueryBuilder(Link, 'l')
      .where('l.code = :code AND l.deleted_at IS NULL', { code });
    if (ownerKeyId !== undefined) query.andWhere('l.owner_key_id = :ownerKeyId', { ownerKeyId });
    return query.getOne();
  }

  /**
   * Up to `limit` live links in `sort` order (ties by id, in the same direction), strictly after
   * `after`; from a replica when one is configured and reachable. By clicks, the walk follows the
   * index of `link_click_totals` (clicks, link_id), which holds a row for every link.
   */
  list(sort: LinkSort, limit: number, after?: PagePosition, ownerKeyId?: string): Promise<Link[]> {
    return this.replicas.read((runner) => {
      const descending = sort.startsWith('-');
      const direction = descending ? 'DESC' : 'ASC';
      const beyond = descending ? '<' : '>';
      const query = this.dataSource.manager
        .createQueryBuilder(Link, 'l', runner)
        .where('l.deleted_at IS NULL')
        .limit(limit);
      if (sort.endsWith('clicks')) {
        query
          .innerJoin('link_click_totals', 't', 't.link_id = l.id')
          .orderBy('t.clicks', direction)
          .addOrderBy('t.link_id', direction);
      } else {
        query.orderBy('l.created_at', direction).addOrderBy('l.id', direction);
      }
      if (ownerKeyId !== undefined) query.andWhere('l.owner_key_id = :ownerKeyId', { ownerKeyId });
      if (after?.by === 'clicks') {
        query.andWhere(`(t.clicks, t.link_id) ${beyond} (:clicks, :id)`, {
          clicks: after.clicks,
          id: after.id,
        });
      } else if (after) {
        query.andWhere(`(l.created_at, l.id) ${beyond} (:createdAt, :id)`, {
          createdAt: after.createdAt,
          id: after.id,
        });
      }
      return query.getMany();
    });
  }

  /**
   * Ids of the (at most `limit`) links with the most clicks in the daily rollups from `fromDay`
   * (a UTC date, YYYY-MM-DD) on, most first; from a replica when one is reachable.
   */
  topLinkIds(fromDay: string, limit: number): Promise<string[]> {
    return this.replicas.read(async (runner) => {
      const rows = (await runner.query(
        `SELECT "link_id"::text AS id
           FROM "click_daily_rollups"
          WHERE "day" >= $1::date
          GROUP BY "link_id"
          ORDER BY sum("total") DESC, "link_id"
          LIMIT $2`,
        [fromDay, limit],
      )) as { id: string }[];
      return rows.map((row) => row.id);
    });
  }

  /** The live links among `ids` (any order), as the redirect caches them; from a replica. */
  targetsByIds(ids: readonly string[]): Promise<RedirectTarget[]> {
    return this.targets(`"id" = ANY($1::bigint[])`, [ids]);
  }

  /** The live links among `codes` (any order), as the redirect caches them; from a replica. */
  targetsByCodes(codes: readonly string[]): Promise<RedirectTarget[]> {
    return this.targets(`"code" = ANY($1::text[])`, [codes]);
  }

  /** Up to `limit` live links with an id above `afterId`, by id (a keyset walk); from a replica. */
  targetsAfter(afterId: string, limit: number): Promise<RedirectTarget[]> {
    return this.targets(`"id" > $1::bigint ORDER BY "id" LIMIT $2`, [afterId, limit]);
  }

  private targets(condition: string, parameters: unknown[]): Promise<RedirectTarget[]> {
    return this.replicas.read(async (runner) => {
      const rows = (await runner.query(
        `SELECT "id"::text AS id, "code", "url", "redirect_type", "expires_at", "disabled",
                "updated_at", "max_clicks"
           FROM "links"
          WHERE "deleted_at" IS NULL AND ${condition}`,
        parameters,
      )) as (TargetRow & { disabled: boolean })[];
      return rows.map((row) => toTarget(row, row.disabled));
    });
  }

  /**
   * The clicks stored for the link `linkId` (what the pipeline has written behind so far), read
   * from the primary: what a visit cap's counter starts from when it has none.
   */
  async storedClicks(linkId: string): Promise<number> {
    const rows: { clicks: string }[] = await this.dataSource.query(
      `SELECT "clicks"::text AS clicks FROM "link_click_totals" WHERE "link_id" = $1`,
      [linkId],
    );
    return Number(rows[0]?.clicks ?? 0);
  }

  /** Applies `changes` to the live link with `code`; null when there is none. */
  async update(
    code: string,
    changes: LinkChanges,
    now: Date,
    ownerKeyId?: string,
  ): Promise<Link | null> {
    const query = this.dataSource.manager
      .createQueryBuilder()
      .update(Link)
      .set({ ...definedOnly(changes), updatedAt: now })
      .where('code = :code AND deleted_at IS NULL', { code });
    if (ownerKeyId !== undefined) query.andWhere('owner_key_id = :ownerKeyId', { ownerKeyId });
    const result = await query.execute();
    return (result.affected ?? 0) > 0 ? this.findByCode(code) : null;
  }

  /** Marks the live link with `code` deleted; false when there was none. */
  async markDeleted(code: string, now: Date, ownerKeyId?: string): Promise<boolean> {
    const query = this.dataSource.manager
      .createQueryBuilder()
      .update(Link)
      .set({ deletedAt: now, updatedAt: now })
      .where('code = :code AND deleted_at IS NULL', { code });
    if (ownerKeyId !== undefined) query.andWhere('owner_key_id = :ownerKeyId', { ownerKeyId });
    const result = await query.execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Disables up to `limit` live, enabled links whose target host is one of `domains` or under one,
   * and returns them as disabled. The host is cut from the stored URL (a WHATWG serialisation:
   * `scheme://host[:port]/...`, never with credentials) in SQL, so no link is loaded to be tested.
   */
  async disableByDomains(
    domains: readonly string[],
    now: Date,
    limit: number,
  ): Promise<RedirectTarget[]> {
    if (domains.length === 0) return [];
    const rows: DisabledRow[] = await this.dataSource.query(
      `WITH matched AS (
         SELECT l.id
           FROM links l,
                LATERAL (SELECT rtrim(regexp_replace(substring(l.url FROM '^[a-z]+://([^/?#]*)'),
                                                     ':[0-9]+$', ''), '.') AS host) h
          WHERE l.deleted_at IS NULL AND NOT l.disabled
            AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS d(domain)
                         WHERE h.host = d.domain OR right(h.host, length(d.domain) + 1) = '.' || d.domain)
          LIMIT $3
       ), disabled AS (
         UPDATE links SET disabled = true, updated_at = $2
          WHERE id IN (SELECT id FROM matched)
          RETURNING id::text AS id, code, url, redirect_type, expires_at, updated_at, max_clicks
       )
       SELECT * FROM disabled`,
      [domains, now, limit],
    );
    return rows.map((row) => toTarget(row, true));
  }
}

function toTarget(row: TargetRow, disabled: boolean): RedirectTarget {
  return {
    id: row.id,
    code: row.code,
    url: row.url,
    redirectType: Number(row.redirect_type) as RedirectType,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    disabled,
    updatedAt: new Date(row.updated_at),
    maxClicks: row.max_clicks,
  };
}

type DisabledRow = TargetRow;

interface TargetRow {
  readonly id: string;
  readonly code: string;
  readonly url: string;
  readonly redirect_type: number | string;
  readonly expires_at: Date | string | null;
  readonly updated_at: Date | string;
  readonly max_clicks: number | null;
}

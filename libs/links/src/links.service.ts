import { Injectable } from '@nestjs/common';
import { AppConfig, LinksConfig } from '@app/config';
import { ValidationFailedError } from '@app/observability';
import { AliasPolicy, CODE_PATTERN } from './alias-policy';
import { Link, linkState, type LinkState, type RedirectType } from './link.entity';
import { LinkIdPool } from './link-ids';
import { aliasTaken, codeSpaceExhausted, invalidCursor, linkNotFound } from './links.errors';
import { CodeTakenError, LinksRepository, type PagePosition } from './links.repository';
import { ShortCodeCodec } from './short-code';
import { UrlPolicy } from './url-policy';

export interface CreateLinkInput {
  readonly url: string;
  readonly alias?: string;
  readonly expiresAt?: Date;
  readonly redirectType?: RedirectType;
}

export interface UpdateLinkInput {
  readonly url?: string;
  readonly expiresAt?: Date | null;
  readonly redirectType?: RedirectType;
  readonly disabled?: boolean;
}

export interface LinkPage {
  readonly items: Link[];
  readonly nextCursor: string | null;
}

/** What a redirect needs to know about a code. */
export type Resolution =
  | { readonly state: 'missing' }
  | { readonly state: Exclude<LinkState, 'active'>; readonly link: Link }
  | { readonly state: 'active'; readonly link: Link };

/** A generated code can collide only with an alias that happens to look like one; skip it. */
const MAX_GENERATED_ATTEMPTS = 8;

@Injectable()
export class LinksService {
  private readonly codec: ShortCodeCodec;
  private readonly urls: UrlPolicy;
  private readonly aliases: AliasPolicy;
  private readonly ids: LinkIdPool;

  constructor(
    private readonly repository: LinksRepository,
    config: LinksConfig,
    app: AppConfig,
  ) {
    this.codec = new ShortCodeCodec(config.codeLength, config.codeSecret);
    this.urls = new UrlPolicy({ maxLength: config.urlMaxLength, selfOrigins: [app.publicBaseUrl] });
    this.aliases = new AliasPolicy(config.reservedAliases);
    this.ids = new LinkIdPool(config.idBlockSize, (count) => repository.allocateIds(count));
  }

  async create(input: CreateLinkInput, now = new Date()): Promise<Link> {
    const url = this.urls.normalize(input.url);
    assertFuture(input.expiresAt, now);
    const fields = {
      url,
      redirectType: input.redirectType ?? 302,
      expiresAt: input.expiresAt ?? null,
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
      try {
        const code = this.codec.encode(id);
        return await this.repository.insert(
          { ...fields, id: id.toString(), code, isCustom: false },
          now,
        );
      } catch (error) {
        if (!(error instanceof CodeTakenError) || attempt >= MAX_GENERATED_ATTEMPTS) throw error;
      }
    }
  }

  async get(code: string): Promise<Link> {
    const link = CODE_PATTERN.test(code) ? await this.repository.findByCode(code) : null;
    if (!link) throw linkNotFound(code);
    return link;
  }

  async list(limit: number, cursor?: string): Promise<LinkPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await this.repository.listNewestFirst(limit + 1, after);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
  }

  async update(code: string, input: UpdateLinkInput, now = new Date()): Promise<Link> {
    const url = input.url === undefined ? undefined : this.urls.normalize(input.url);
    assertFuture(input.expiresAt ?? undefined, now);
    const link = CODE_PATTERN.test(code)
      ? await this.repository.update(
          code,
          {
            url,
            expiresAt: input.expiresAt,
            redirectType: input.redirectType,
            disabled: input.disabled,
          },
          now,
        )
      : null;
    if (!link) throw linkNotFound(code);
    return link;
  }

  async delete(code: string, now = new Date()): Promise<void> {
    const deleted = CODE_PATTERN.test(code) && (await this.repository.markDeleted(code, now));
    if (!deleted) throw linkNotFound(code);
  }

  /** Looks `code` up on the primary and says whether, and where, it redirects at `now`. */
  async resolve(code: string, now = new Date()): Promise<Resolution> {
    if (!CODE_PATTERN.test(code)) return { state: 'missing' };
    const link = await this.repository.findByCode(code);
    if (!link) return { state: 'missing' };
    return { state: linkState(link, now), link };
  }
}

function assertFuture(expiresAt: Date | undefined, now: Date): void {
  if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) {
    throw new ValidationFailedError([{ field: 'expiresAt', message: 'must be in the future' }]);
  }
}

function encodeCursor(link: Link): string {
  return Buffer.from(`${link.createdAt.getTime()}:${link.id}`).toString('base64url');
}

function decodeCursor(cursor: string): PagePosition {
  const match = /^(\d{1,15}):(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) throw invalidCursor();
  return { createdAt: new Date(Number(match[1])), id: match[2] };
}

import type { CacheCodec } from '@app/caching';
import type { Link } from './link.entity';

/** What the redirect needs of a link; what the link cache holds. */
export type RedirectTarget = Pick<
  Link,
  'id' | 'code' | 'url' | 'redirectType' | 'expiresAt' | 'disabled' | 'updatedAt' | 'maxClicks'
>;

/** The document a link is cached as in Redis (dates as epoch milliseconds). */
interface CachedLinkDocument {
  readonly id: string;
  readonly code: string;
  readonly url: string;
  readonly redirectType: Link['redirectType'];
  readonly expiresAt: number | null;
  readonly disabled: boolean;
  readonly updatedAt: number;
  /** Absent from documents written before visit caps existed (no link had one then). */
  readonly maxClicks?: number | null;
}

export function toRedirectTarget(link: RedirectTarget): RedirectTarget {
  return {
    id: link.id,
    code: link.code,
    url: link.url,
    redirectType: link.redirectType,
    expiresAt: link.expiresAt,
    disabled: link.disabled,
    updatedAt: link.updatedAt,
    maxClicks: link.maxClicks,
  };
}

/** A cap as stored: a positive whole number, else none (an old document, or a corrupt value). */
const capOf = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;

/** The name of the link cache (its Redis keys: `<REDIS_KEY_PREFIX>cache:link:<code>`). */
export const LINK_CACHE = 'link';

/** Encodes links for L2; a link's version is its updated-at time, so newer writes win. */
export const linkCacheCodec: CacheCodec<RedirectTarget> = {
  encode: (link): CachedLinkDocument => ({
    id: link.id,
    code: link.code,
    url: link.url,
    redirectType: link.redirectType,
    expiresAt: link.expiresAt?.getTime() ?? null,
    disabled: link.disabled,
    updatedAt: link.updatedAt.getTime(),
    maxClicks: link.maxClicks,
  }),
  decode: (data) => {
    const doc = data as CachedLinkDocument;
    return {
      id: doc.id,
      code: doc.code,
      url: doc.url,
      redirectType: doc.redirectType,
      expiresAt: doc.expiresAt === null ? null : new Date(doc.expiresAt),
      disabled: doc.disabled,
      updatedAt: new Date(doc.updatedAt),
      maxClicks: capOf(doc.maxClicks),
    };
  },
  version: (link) => link.updatedAt.getTime(),
};

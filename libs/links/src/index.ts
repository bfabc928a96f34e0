export { ALIAS_PATTERN, AliasPolicy, CODE_PATTERN } from './alias-policy';
export {
  CacheWarmer,
  parseSince,
  WARM_ALL_DEFAULT,
  WARM_ALL_MAX,
  WARM_CODES_MAX,
  WARM_FILE_MAX,
  WARM_SINCE_DEFAULT,
  WARM_TOP_MAX,
} from './cache-warmer';
export type { WarmSelection } from './cache-warmer';
export { LINK_CACHE, linkCacheCodec } from './link-cache';
export type { RedirectTarget } from './link-cache';
export { Link, REDIRECT_TYPES } from './link.entity';
export type { RedirectType } from './link.entity';
export { LinkBlocklist } from './link-blocklist';
export { LINK_SORTS, LinksRepository } from './links.repository';
export type { LinkSort, PagePosition } from './links.repository';
export * as LinkErrors from './links.errors';
export { LinksModule } from './links.module';
export { LinksService } from './links.service';
export { ENFORCE_CODES_SHOWN, resolution } from './links.service';
export type { LinkScope, Resolution } from './links.service';
export { ShortCodeCodec } from './short-code';
export { RedisVisitCounter, VisitCaps } from './visit-caps';
export type { Reservation } from './visit-caps';

export { ALIAS_PATTERN, AliasPolicy, BUILT_IN_RESERVED, CODE_PATTERN } from './alias-policy';
export { linkCacheCodec, toRedirectTarget } from './link-cache';
export type { RedirectTarget } from './link-cache';
export { Link, linkState, REDIRECT_TYPES } from './link.entity';
export type { LinkState, RedirectType } from './link.entity';
export { bareHost, DomainBlocklist, normalizeDomain, parseBlocklist } from './domain-blocklist';
export type { BlocklistLogger, DomainBlocklistOptions } from './domain-blocklist';
export { LinkBlocklist } from './link-blocklist';
export { LinkIdPool } from './link-ids';
export { LinksRepository } from './links.repository';
export * as LinkErrors from './links.errors';
export { LinksModule } from './links.module';
export { LinksService } from './links.service';
export { ENFORCE_CODES_SHOWN } from './links.service';
export type {
  BlocklistEnforcement,
  CreateLinkInput,
  LinkPage,
  LinkScope,
  Resolution,
  UpdateLinkInput,
} from './links.service';
export { BASE62_ALPHABET, ShortCodeCodec } from './short-code';
export { UrlPolicy } from './url-policy';
export type { UrlPolicyOptions } from './url-policy';

import { aliasReserved } from './links.errors';

/** What an alias may look like: 3 to 64 of A-Z, a-z, 0-9, `_` and `-`; case-sensitive. */
export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

/** Anything a short code (generated or alias) can be; used to reject impossible codes cheaply. */
export const CODE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Path segments the apps route themselves, which a link must never shadow. */
export const BUILT_IN_RESERVED = [
  'api',
  'docs',
  'docs-json',
  'docs-yaml',
  'health',
  'metrics',
  'favicon',
  'robots',
  'static',
  'admin',
] as const;

/** Refuses aliases that collide with routes; compared case-insensitively to avoid look-alikes. */
export class AliasPolicy {
  private readonly reserved: ReadonlySet<string>;

  constructor(extraReserved: readonly string[] = []) {
    this.reserved = new Set([...BUILT_IN_RESERVED, ...extraReserved].map((a) => a.toLowerCase()));
  }

  /** True for a code that a route of snip's own would shadow. */
  isReserved(code: string): boolean {
    return this.reserved.has(code.toLowerCase());
  }

  assertAllowed(alias: string): void {
    if (this.isReserved(alias)) throw aliasReserved(alias);
  }
}

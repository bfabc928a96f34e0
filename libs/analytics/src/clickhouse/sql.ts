/**
 * The few values snip puts into ClickHouse SQL. ClickHouse 18.16 has no query parameters
 * (`{name:Type}`), so values are written into the text: only link ids (validated as digits), whole
 * seconds and identifiers checked against a strict pattern ever go in, never free text.
 */

const LINK_ID = /^[1-9]\d{0,19}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const UINT64_MAX = 18_446_744_073_709_551_615n;

/** A link id (a bigint as decimal digits) as a UInt64 literal; throws on anything else. */
export function linkIdLiteral(linkId: string): string {
  if (!LINK_ID.test(linkId) || BigInt(linkId) > UINT64_MAX) {
    throw new TypeError(`not a link id: ${JSON.stringify(linkId)}`);
  }
  return linkId;
}

/** An instant as a UTC DateTime expression (whole seconds, rounded down). */
export function dateTimeLiteral(at: Date): string {
  const ms = at.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`not a date after 1970: ${String(at)}`);
  return `toDateTime(${Math.floor(ms / 1000)}, 'UTC')`;
}

/** An identifier (database or table name) in backquotes; throws unless it is a plain identifier. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new TypeError(`not a plain identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

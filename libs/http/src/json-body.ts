import { DomainError } from '@app/core';

/** Deepest nesting of objects and arrays a JSON body may have; snip's own bodies use 2. */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const malformed = (detail: string): DomainError => new DomainError('MALFORMED_JSON', detail);

/**
 * How deeply objects and arrays nest in `text`; stops at the first level deeper than `limit`.
 * One pass, no recursion: brackets inside strings do not count. It does not check the syntax;
 * the parser does, afterwards.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * The text of a JSON request body, for Fastify's JSON parser to parse, or a 400 problem:
 * MALFORMED_JSON when it is not UTF-8 (RFC 8259 requires it; a lenient decoder would store U+FFFD
 * in its place), JSON_TOO_DEEP when objects and arrays nest deeper than `maxDepth`. Runs before
 * validation, so class-transformer and class-validator, which recurse, never see a deep document.
 */
export function decodeJsonBody(body: Buffer, maxDepth = MAX_JSON_DEPTH): string {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw malformed('The body is not valid UTF-8.');
  }
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new DomainError(
      'JSON_TOO_DEEP',
      `Objects and arrays in the body nest deeper than ${maxDepth} levels.`,
    );
  }
  return text;
}

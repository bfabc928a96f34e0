import type { MessageHandler } from '@nestjs/microservices';

/** Patterns remembered at most: snip has one (`click`), a peer could send many. */
const MAX_PATTERNS = 100;

/**
 * Remembers `lookup`'s answer per pattern. Nest's own look-up JSON-parses the pattern first, which
 * throws (and costs a stack trace) for every plain string pattern such as `click` (see decision 36).
 */
export function memoizeHandlerLookup(
  lookup: (pattern: string) => MessageHandler | null,
): (pattern: string) => MessageHandler | null {
  const handlers = new Map<string, MessageHandler | null>();
  return (pattern) => {
    let handler = handlers.get(pattern);
    if (handler === undefined) {
      handler = lookup(pattern);
      if (handlers.size < MAX_PATTERNS) handlers.set(pattern, handler);
    }
    return handler;
  };
}

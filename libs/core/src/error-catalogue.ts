/** What a stable error code means: its HTTP status, its problem title and when it is answered. */
export interface ErrorEntry {
  readonly status: number;
  readonly title: string;
  /** When a client gets it; the README's error table shows this column (a test keeps them equal). */
  readonly when: string;
}

/**
 * Every stable error code snip answers with, in one place (as Fastify keeps lib/errors.js): the
 * code is what clients branch on, so it never changes once released. Whatever raises an error
 * (`DomainError`, the problem+json mapping of framework errors) takes its status and title from
 * here. Ordered by status; the README's table lists the same rows in the same order.
 */
export const ERRORS = {
  VALIDATION_FAILED: {
    status: 400,
    title: 'Validation failed',
    when: 'wrong types, unknown fields, bad alias syntax, `expiresAt` in the past, bad stats range; see `errors` (at most 20; beyond, `errorsTruncated: true` and `errorCount`)',
  },
  MALFORMED_JSON: {
    status: 400,
    title: 'Malformed JSON',
    when: 'the body is not JSON (or empty, or not UTF-8) although the content type says so',
  },
  JSON_TOO_DEEP: {
    status: 400,
    title: 'JSON nested too deeply',
    when: 'objects and arrays in the body nest deeper than 32 levels',
  },
  URL_NOT_ALLOWED: {
    status: 400,
    title: 'URL not allowed',
    when: 'the target breaks the URL policy (see below): malformed, snip itself, or an internal address',
  },
  URL_BLOCKED: {
    status: 400,
    title: 'URL blocked',
    when: "the target's host is a blocked domain or under one; `domain` names the entry",
  },
  ALIAS_RESERVED: {
    status: 400,
    title: 'Alias reserved',
    when: "the alias is one of snip's own route names",
  },
  INVALID_CURSOR: {
    status: 400,
    title: 'Invalid cursor',
    when: 'a `cursor` snip did not issue',
  },
  MALFORMED_URL: {
    status: 400,
    title: 'Malformed URL',
    when: 'the request path is not valid percent-encoding',
  },
  BAD_REQUEST: {
    status: 400,
    title: 'Bad request',
    when: 'any other malformed request (an invalid `Content-Length`, for example), and any error status without a code of its own',
  },
  API_KEY_MISSING: {
    status: 401,
    title: 'API key missing',
    when: 'no `X-Api-Key` on an `/api/v1` route while `AUTH_REQUIRED` is on',
  },
  API_KEY_INVALID: {
    status: 401,
    title: 'API key invalid',
    when: 'the `X-Api-Key` is unknown, revoked, expired or empty (refused whatever `AUTH_REQUIRED` says)',
  },
  UNAUTHORIZED: {
    status: 401,
    title: 'Unauthorized',
    when: 'any other 401',
  },
  FORBIDDEN: {
    status: 403,
    title: 'Forbidden',
    when: "the key's role may not use the route (a `user` key on `/api/v1/api-keys`)",
  },
  NOT_FOUND: {
    status: 404,
    title: 'Not found',
    when: 'no such route',
  },
  LINK_NOT_FOUND: {
    status: 404,
    title: 'Link not found',
    when: 'no such code, it was deleted, or a `user` key asks for a link it did not create',
  },
  API_KEY_NOT_FOUND: {
    status: 404,
    title: 'API key not found',
    when: 'no API key has that id',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'Method not allowed',
    when: 'the path exists, but not for this method; `Allow` lists the methods it has',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    title: 'Not acceptable',
    when: 'any other 406',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request timeout',
    when: 'any other 408 (a request slower than `HTTP_REQUEST_TIMEOUT_MS` gets a bare 408 and the connection closes)',
  },
  CONFLICT: {
    status: 409,
    title: 'Conflict',
    when: 'any other 409',
  },
  ALIAS_TAKEN: {
    status: 409,
    title: 'Alias taken',
    when: 'the alias exists (deleted links keep theirs)',
  },
  GONE: {
    status: 410,
    title: 'Gone',
    when: 'any other 410',
  },
  LINK_GONE: {
    status: 410,
    title: 'Link no longer available',
    when: 'disabled or expired (`reason` says which)',
  },
  LINK_EXHAUSTED: {
    status: 410,
    title: 'Link exhausted',
    when: 'the link has answered its `maxClicks` redirects',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: 'Payload too large',
    when: 'body over `HTTP_BODY_LIMIT_BYTES` (16 KiB); the rest of it is read and dropped first (up to 16 MiB)',
  },
  URI_TOO_LONG: {
    status: 414,
    title: 'URI too long',
    when: 'URL over `HTTP_MAX_URL_LENGTH`, or a path segment over 100 characters',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    when: 'a body in a content type snip does not parse',
  },
  UNPROCESSABLE_CONTENT: {
    status: 422,
    title: 'Unprocessable content',
    when: 'any other 422',
  },
  RATE_LIMITED: {
    status: 429,
    title: 'Too many requests',
    when: 'a rate limit is spent; `retryAfter` and the `Retry-After` header say when to retry (seconds)',
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    title: 'Request header fields too large',
    when: 'any other 431',
  },
  INTERNAL_ERROR: {
    status: 500,
    title: 'Internal server error',
    when: 'a bug (an unreachable database is `DATABASE_UNAVAILABLE`); the log has the details',
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    title: 'Database unavailable',
    when: 'PostgreSQL unreachable or not answering in time: an outage, retry after `Retry-After` (5 s)',
  },
  CODE_SPACE_EXHAUSTED: {
    status: 503,
    title: 'No short codes left',
    when: 'every code of `SHORT_CODE_LENGTH` is used',
  },
  SHUTTING_DOWN: {
    status: 503,
    title: 'Shutting down',
    when: 'the instance is shutting down; `Connection: close` and `Retry-After: 1`: send it again',
  },
  VISIT_LIMIT_UNAVAILABLE: {
    status: 503,
    title: 'Visit limit unavailable',
    when: 'a link with `maxClicks` while Redis (which counts its visits) is unreachable: rather than risk one redirect too many, retry after `Retry-After` (5 s); links without a cap are unaffected',
  },
  UPSTREAM_UNAVAILABLE: {
    status: 503,
    title: 'Upstream unavailable',
    when: 'the edge could not reach the api (refused, or no connection within `EDGE_UPSTREAM_CONNECT_TIMEOUT_MS`) for a request it does not answer itself; retry after `Retry-After` (1 s)',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    title: 'Service unavailable',
    when: 'any other 503',
  },
  UPSTREAM_TIMEOUT: {
    status: 504,
    title: 'Upstream timeout',
    when: 'the api did not answer the edge within `EDGE_UPSTREAM_TIMEOUT_MS`',
  },
} as const satisfies Readonly<Record<string, ErrorEntry>>;

/** A stable error code: a key of ERRORS. */
export type ErrorCode = keyof typeof ERRORS;

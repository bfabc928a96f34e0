import { HttpException, HttpStatus } from '@nestjs/common';

/** One invalid field in a request, as listed in a VALIDATION_FAILED problem. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** An RFC 9457 problem document, with snip's stable `code` and the `requestId`. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly requestId?: string;
  readonly errors?: readonly FieldProblem[];
  readonly [extension: string]: unknown;
}

/**
 * An error the domain expects and the client can act on. `code` is stable and upper case; it is
 * what clients branch on, never the human-readable `detail`.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    /** Response headers that go with the problem, such as `retry-after`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}

/**
 * Recognises an error some library raises (a database that cannot be reached) and says what the
 * client should see instead of a 500; undefined leaves the error to the next translator.
 */
export type ErrorTranslator = (error: unknown) => DomainError | undefined;

/** The first translation of `error` by `translators`, if any. */
export function translateError(
  error: unknown,
  translators: readonly ErrorTranslator[],
): DomainError | undefined {
  if (error instanceof DomainError) return undefined;
  for (const translate of translators) {
    const translated = translate(error);
    if (translated) return translated;
  }
  return undefined;
}

/** Most entries a VALIDATION_FAILED problem lists; the rest are counted in `errorCount`. */
export const MAX_LISTED_ERRORS = 20;

/**
 * Request validation failed; `errors` lists each field, the first MAX_LISTED_ERRORS of them: with
 * more, `errorsTruncated` is true and `errorCount` says how many there were (a body of 15 KB can
 * hold thousands of unknown keys, each an entry).
 */
export class ValidationFailedError extends DomainError {
  /** The entries listed in the problem. */
  readonly errors: readonly FieldProblem[];

  constructor(errors: readonly FieldProblem[]) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    const more = errors.length - listed.length;
    super(
      HttpStatus.BAD_REQUEST,
      'VALIDATION_FAILED',
      'Validation failed',
      listed.map((e) => `${e.field}: ${e.message}`).join('; ') +
        (more > 0 ? `; and ${more} more` : ''),
      more > 0
        ? { errors: listed, errorsTruncated: true, errorCount: errors.length }
        : { errors: listed },
    );
    this.errors = listed;
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const problemType = (code: string): string =>
  `urn:snip:problem:${code.toLowerCase().replace(/_/g, '-')}`;

/** Fastify's own client errors, by their error code, mapped to snip's stable codes. */
const FASTIFY_CODES: Readonly<Record<string, { code: string; title: string; detail?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', title: 'Payload too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Unsupported media type',
    detail: 'Send the body as application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', title: 'Bad request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'MALFORMED_JSON',
    title: 'Malformed JSON',
    detail: 'The body is empty but the content type says JSON.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', title: 'Malformed JSON' },
  FST_ERR_BAD_URL: {
    code: 'MALFORMED_URL',
    title: 'Malformed URL',
    detail: 'The request path is not valid percent-encoding.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'URI_TOO_LONG',
    title: 'URI too long',
    detail: 'A path segment is longer than any route accepts.',
  },
};

const STATUS_CODES: Readonly<Record<number, { code: string; title: string }>> = {
  400: { code: 'BAD_REQUEST', title: 'Bad request' },
  401: { code: 'UNAUTHORIZED', title: 'Unauthorized' },
  403: { code: 'FORBIDDEN', title: 'Forbidden' },
  404: { code: 'NOT_FOUND', title: 'Not found' },
  405: { code: 'METHOD_NOT_ALLOWED', title: 'Method not allowed' },
  406: { code: 'NOT_ACCEPTABLE', title: 'Not acceptable' },
  408: { code: 'REQUEST_TIMEOUT', title: 'Request timeout' },
  409: { code: 'CONFLICT', title: 'Conflict' },
  410: { code: 'GONE', title: 'Gone' },
  413: { code: 'PAYLOAD_TOO_LARGE', title: 'Payload too large' },
  414: { code: 'URI_TOO_LONG', title: 'URI too long' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported media type' },
  422: { code: 'UNPROCESSABLE_CONTENT', title: 'Unprocessable content' },
  429: { code: 'RATE_LIMITED', title: 'Too many requests' },
  431: { code: 'HEADERS_TOO_LARGE', title: 'Request header fields too large' },
  503: { code: 'SERVICE_UNAVAILABLE', title: 'Service unavailable' },
};

interface ErrorWithCode {
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly message?: unknown;
}

function fastifyCause(error: unknown): ErrorWithCode | undefined {
  const candidate = error instanceof HttpException ? error.cause : error;
  if (typeof candidate === 'object' && candidate !== null && 'code' in candidate) {
    return candidate;
  }
  return undefined;
}

/**
 * Turns anything thrown while serving a request into a problem document. Expected errors keep
 * their detail; anything unexpected becomes a 500 that reveals nothing but the request id.
 */
export function toProblem(error: unknown): ProblemDocument {
  if (error instanceof DomainError) {
    return {
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.detail,
      code: error.code,
      ...error.extensions,
    };
  }
  const cause = fastifyCause(error);
  const known = typeof cause?.code === 'string' ? FASTIFY_CODES[cause.code] : undefined;
  const status =
    error instanceof HttpException
      ? error.getStatus()
      : typeof cause?.statusCode === 'number'
        ? cause.statusCode
        : 500;
  if (status >= 500 && status !== 503) {
    return {
      type: problemType('INTERNAL_ERROR'),
      title: 'Internal server error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the request id when you report it.',
      code: 'INTERNAL_ERROR',
    };
  }
  const generic = STATUS_CODES[status] ?? { code: 'BAD_REQUEST', title: 'Bad request' };
  const code = known?.code ?? generic.code;
  const message =
    error instanceof HttpException
      ? error.message
      : typeof cause?.message === 'string'
        ? cause.message
        : '';
  return {
    type: problemType(code),
    title: known?.title ?? generic.title,
    status,
    detail: known?.detail ?? (message || generic.title),
    code,
  };
}

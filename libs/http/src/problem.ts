import { HttpException } from '@nestjs/common';
import { DomainError, type FieldProblem } from '@app/core';

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

import { HttpException } from '@nestjs/common';
import { DomainError, ERRORS, type ErrorCode, type FieldProblem } from '@app/core';

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
const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; detail?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'Send the body as application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'MALFORMED_JSON',
    detail: 'The body is empty but the content type says JSON.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON' },
  FST_ERR_BAD_URL: {
    code: 'MALFORMED_URL',
    detail: 'The request path is not valid percent-encoding.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'URI_TOO_LONG',
    detail: 'A path segment is longer than any route accepts.',
  },
};

/** The generic code of an error status that carries no code of its own. */
const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  410: 'GONE',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
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
      title: ERRORS.INTERNAL_ERROR.title,
      status: 500,
      detail: 'Something went wrong on our side. Quote the request id when you report it.',
      code: 'INTERNAL_ERROR',
    };
  }
  const code = known?.code ?? STATUS_CODES[status] ?? 'BAD_REQUEST';
  const { title } = ERRORS[code];
  const message =
    error instanceof HttpException
      ? error.message
      : typeof cause?.message === 'string'
        ? cause.message
        : '';
  return {
    type: problemType(code),
    title,
    status,
    detail: known?.detail ?? (message || title),
    code,
  };
}

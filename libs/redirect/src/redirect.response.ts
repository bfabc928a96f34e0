import type { ServerResponse } from 'node:http';
import type { DomainError } from '@app/core';
import { PROBLEM_CONTENT_TYPE, problemFor, toProblem } from '@app/http';

/** What a link's state means for one request (see RedirectHandler.decide). */
export type RedirectOutcome =
  | {
      readonly kind: 'redirect';
      readonly status: number;
      readonly location: string;
      readonly cacheControl: string;
    }
  | { readonly kind: 'error'; readonly error: DomainError };

/** A redirect's answer, whichever server writes it (the front handler or the Fastify route). */
export interface RedirectAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function errorPage(error: DomainError): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${error.status} ${escapeHtml(error.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}</style></head><body><h1>${escapeHtml(error.title)}</h1><p>${escapeHtml(error.detail)}</p></body></html>`;
}

/**
 * The response to a redirect request: the redirect itself, or for an unknown, disabled or expired
 * link a small HTML page for browsers and problem+json for everyone else, never cached.
 */
export function redirectResponse(
  outcome: RedirectOutcome,
  url: string,
  accept: string | undefined,
  requestId: string,
): RedirectAnswer {
  if (outcome.kind === 'redirect') {
    return {
      status: outcome.status,
      headers: { location: outcome.location, 'cache-control': outcome.cacheControl },
    };
  }
  return errorResponse(outcome.error, url, accept, requestId);
}

/**
 * A domain error (an unknown link, an unreachable database) as the redirect answers it: a small
 * HTML page for browsers, problem+json for everyone else, with the error's headers, never cached.
 */
export function errorResponse(
  error: DomainError,
  url: string,
  accept: string | undefined,
  requestId: string,
): RedirectAnswer {
  if (accept?.includes('text/html')) {
    return {
      status: error.status,
      headers: {
        ...error.headers,
        'cache-control': 'no-store',
        'content-type': 'text/html; charset=utf-8',
      },
      body: errorPage(error),
    };
  }
  const answer = failureResponse(error, url, requestId);
  return { ...answer, headers: { ...error.headers, ...answer.headers } };
}

/** Any error as a problem+json response, never cached. */
export function failureResponse(error: unknown, url: string, requestId: string): RedirectAnswer {
  const problem = toProblem(error);
  return {
    status: problem.status,
    headers: { 'cache-control': 'no-store', 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(problemFor(url, requestId, problem)),
  };
}

/** Writes `answer` on Node's response (the api's front, the edge), unless the client is gone. */
export function writeRedirectAnswer(
  response: ServerResponse,
  requestId: string,
  answer: RedirectAnswer,
): void {
  // The client may be gone while the answer was being looked up.
  if (response.destroyed) return;
  response.writeHead(answer.status, {
    'x-request-id': requestId,
    ...answer.headers,
    'content-length': answer.body === undefined ? 0 : Buffer.byteLength(answer.body),
  });
  response.end(answer.body);
}

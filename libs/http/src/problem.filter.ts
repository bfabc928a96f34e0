import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DomainError, translateError, type ErrorTranslator } from '@app/core';
import { PROBLEM_CONTENT_TYPE, toProblem, type ProblemDocument } from './problem';
import { discardBody } from './request-body';

const MAX_INSTANCE_LENGTH = 256;

/** `problem` as sent for a request to `url`: with the path it concerns and the request id. */
export function problemFor(
  url: string,
  requestId: string,
  problem: ProblemDocument,
): ProblemDocument {
  const path = url.split('?', 1)[0] ?? '/';
  return {
    ...problem,
    instance: path.length > MAX_INSTANCE_LENGTH ? `${path.slice(0, MAX_INSTANCE_LENGTH)}…` : path,
    requestId,
  };
}

/**
 * Writes a problem document as the response, with the request id and the path it concerns. When
 * the request's body is not read yet (a body over the limit, a refused content type, a request
 * refused before its body), the rest of it is read and dropped first, up to a bound: answering
 * and closing while the client still sends would reach it as a reset instead of the problem.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemDocument,
): FastifyReply {
  // Set here too: errors raised before the onRequest hook (bad percent-encoding) skip it.
  void reply.status(problem.status).header('x-request-id', request.id).type(PROBLEM_CONTENT_TYPE);
  const document = problemFor(request.url, request.id, problem);
  if (request.raw.complete) return reply.send(document);
  void discardBody(request.raw).then((ended) => {
    if (reply.sent || reply.raw.destroyed) return;
    if (!ended) void reply.header('connection', 'close');
    void reply.send(document);
  });
  return reply;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The methods some route answers on the request's path (none when the path has no route). */
function allowedMethods(request: FastifyRequest): string[] {
  const path = request.url.split('?', 1)[0] ?? '/';
  return METHODS.filter(
    (method) => method !== request.method && request.server.findRoute({ method, url: path }),
  );
}

const methodNotAllowed = (request: FastifyRequest, allowed: readonly string[]): DomainError =>
  new DomainError(
    'METHOD_NOT_ALLOWED',
    `${request.method} is not allowed here; allowed: ${allowed.join(', ')}.`,
  );

/** The one place that turns exceptions into RFC 9457 problem+json responses. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly translators: readonly ErrorTranslator[] = [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    // A translated error is an outage its translator reports (once, not per request).
    const translated = translateError(exception, this.translators);
    let problem = toProblem(translated ?? exception);
    const headers =
      translated?.headers ?? (exception instanceof DomainError ? exception.headers : {});
    for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
    if (problem.status === 404 && request.routeOptions.url === undefined) {
      // No route matched: if the path has routes for other methods, the method is what is wrong.
      const allowed = allowedMethods(request);
      if (allowed.length > 0) {
        void reply.header('allow', allowed.join(', '));
        problem = toProblem(methodNotAllowed(request, allowed));
      }
    }
    if (problem.status >= 500 && !translated) {
      this.logger.error(
        {
          err: exception,
          reqId: request.id,
          method: request.method,
          route: request.routeOptions.url,
        },
        'request failed',
      );
    }
    if (reply.sent) return;
    sendProblem(request, reply, problem);
  }
}

import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEM_CONTENT_TYPE, toProblem, type ProblemDocument } from './problem';

const MAX_INSTANCE_LENGTH = 256;

/** Writes a problem document as the response, with the request id and the path it concerns. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemDocument,
): FastifyReply {
  const path = request.url.split('?', 1)[0] ?? '/';
  const body: ProblemDocument = {
    ...problem,
    instance: path.length > MAX_INSTANCE_LENGTH ? `${path.slice(0, MAX_INSTANCE_LENGTH)}…` : path,
    requestId: request.id,
  };
  // Set here too: errors raised before the onRequest hook (bad percent-encoding) skip it.
  return reply
    .status(problem.status)
    .header('x-request-id', request.id)
    .type(PROBLEM_CONTENT_TYPE)
    .send(body);
}

/** The one place that turns exceptions into RFC 9457 problem+json responses. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(exception);
    if (problem.status >= 500) {
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

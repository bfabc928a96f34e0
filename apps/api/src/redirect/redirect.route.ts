import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedirectHandler } from '@app/redirect';
import type { RedirectAnswer } from '@app/redirect';

/**
 * `GET /:code` (and HEAD, which Fastify answers from it) as a plain Fastify route: no Nest guards,
 * pipes or interceptors, no body parsing. It serves what the front leaves (percent-encoded codes,
 * a URL over the length limit) with the same handler; Fastify's hooks add the request id, the
 * metrics and the access log.
 */
export function redirectRoute(redirects: RedirectHandler) {
  return (request: FastifyRequest<{ Params: { code: string } }>, reply: FastifyReply): void => {
    const send = (answer: RedirectAnswer): void => {
      // Sent, not awaited: awaiting a Fastify reply waits for the socket to drain.
      if (!reply.sent) void reply.code(answer.status).headers(answer.headers).send(answer.body);
    };
    const answer = redirects.serve({
      method: request.method,
      url: request.url,
      ip: request.ip,
      headers: request.headers,
      requestId: request.id,
      code: request.params.code,
    });
    if (answer instanceof Promise) void answer.then(send);
    else send(answer);
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpFront } from '@app/http';
import { REDIRECT_ROUTE, UNRESOLVED, type RedirectHandler } from './redirect.handler';
import { writeRedirectAnswer, type RedirectAnswer } from './redirect.response';

/**
 * Serves a `GET|HEAD /<code>[?query]` request on Node's own response through `redirects`, for the
 * servers that answer redirects ahead of any framework (the api's front, the edge): the answer is
 * written with the request id and reported to `front` (histogram, access log). A link in memory is
 * answered synchronously: no promise, no microtask. `unresolved` takes the requests this process
 * cannot tell (UNRESOLVED: the edge forwards them to the api); nothing is written for those.
 */
export function serveRedirect(
  redirects: RedirectHandler,
  front: HttpFront,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  unresolved?: () => void,
): void {
  const { method = 'GET', url = '/' } = request;
  const started = performance.now();
  const write = (answer: RedirectAnswer): void => {
    if (answer === UNRESOLVED && unresolved) return unresolved();
    writeRedirectAnswer(response, requestId, answer);
    front.observe(
      method,
      REDIRECT_ROUTE,
      answer.status,
      url,
      requestId,
      performance.now() - started,
    );
  };
  const answer = redirects.serve({
    method,
    url,
    ip: front.clientIp(request),
    headers: request.headers,
    requestId,
  });
  if (answer instanceof Promise) void answer.then(write);
  else write(answer);
}

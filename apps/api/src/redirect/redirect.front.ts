import { requestIdOf, type FrontHandler, type HttpFront } from '@app/http';
import { codeEnd, serveRedirect, type RedirectHandler } from '@app/redirect';

/**
 * The redirect ahead of Fastify (see HttpFront): `GET`/`HEAD /<code>[?query]` written straight on
 * Node's response, with the request id, histogram and access log Fastify's hooks give every other
 * route. Any other shape (percent-encoding, more segments, a URL over `maxUrlLength`, a fixed
 * route's path) goes on to Fastify, whose `/:code` route serves it with the same handler. What
 * skipping Fastify's routing and reply and Nest's request hooks saves: see decision 17.
 */
export function redirectFront(
  redirects: RedirectHandler,
  http: HttpFront,
  maxUrlLength: number,
): FrontHandler {
  return (request, response) => {
    const { method, url } = request;
    if ((method !== 'GET' && method !== 'HEAD') || url === undefined) return false;
    const end = codeEnd(url);
    if (end < 0 || url.length > maxUrlLength) return false;
    if (http.isFixedPath(end === url.length ? url : url.slice(0, end))) return false;
    serveRedirect(redirects, http, request, response, requestIdOf(request));
    return true;
  };
}

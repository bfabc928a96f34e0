import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/**
 * The edge benchmark's yardsticks: raw node:http servers with nothing on the path but the answer
 * and the echo of a client's x-request-id (the paced runs stamp their requests with it).
 *
 *   node raw.js map <code> <url>             a 302 to <url> for /<code>, from a Map
 *   node raw.js redis <redis-url> <prefix>   one GET of <prefix><code> per request, a 302 to the
 *                                            `url` of the JSON found, 404 when there is none
 */
const [mode = 'map', first = '', second = ''] = process.argv.slice(2);

const answer = (
  request: IncomingMessage,
  response: ServerResponse,
  location: string | undefined,
): void => {
  const headers: Record<string, string> = { 'cache-control': 'private, max-age=0' };
  const requestId = request.headers['x-request-id'];
  if (typeof requestId === 'string') headers['x-request-id'] = requestId;
  if (location === undefined) {
    response.writeHead(404, headers).end();
    return;
  }
  headers.location = location;
  response.writeHead(302, headers).end();
};

/** The `url` of a cached link document, wherever the cache's envelope puts it. */
const urlOf = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.url === 'string') return record.url;
  for (const inner of Object.values(record)) {
    const found = urlOf(inner);
    if (found !== undefined) return found;
  }
  return undefined;
};

let handler: (request: IncomingMessage, response: ServerResponse) => void;
if (mode === 'redis') {
  const redis = new Redis(first);
  handler = (request, response) => {
    const code = (request.url ?? '/').slice(1).split('?')[0] ?? '';
    redis.get(`${second}${code}`).then(
      (text) => answer(request, response, text === null ? undefined : urlOf(JSON.parse(text))),
      () => response.writeHead(503).end(),
    );
  };
} else {
  const targets = new Map([[first, second]]);
  handler = (request, response) =>
    answer(request, response, targets.get((request.url ?? '/').slice(1).split('?')[0] ?? ''));
}

const server = createServer(handler);
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});

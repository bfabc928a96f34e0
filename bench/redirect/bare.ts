import Fastify from 'fastify';

/**
 * The yardstick: a bare Fastify server answering the same 302 from a Map, with nothing else on
 * the path but the echo of a client's x-request-id, as the api does. Usage: node bare.js <port>
 * <code> <url>
 */
const [port = '0', code = 'hot', url = 'https://example.com/'] = process.argv.slice(2);
const targets = new Map([[code, url]]);
const app = Fastify({ logger: false });
app.get<{ Params: { code: string } }>('/:code', (request, reply) => {
  // Echoed like the api echoes it: the paced runs of the bench stamp their requests with it.
  const requestId = request.headers['x-request-id'];
  if (requestId !== undefined) reply.header('x-request-id', requestId);
  const location = targets.get(request.params.code);
  if (location === undefined) return reply.code(404).send();
  return reply
    .code(302)
    .header('location', location)
    .header('cache-control', 'private, max-age=0')
    .send();
});
app.listen({ port: Number(port), host: '127.0.0.1' }).then(
  (address) => process.stdout.write(`listening ${address}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);

import { createServer } from 'node:net';

/**
 * A loopback port the OS just handed out and nothing listens on now, for a server of the tests
 * that cannot listen on port 0 and report its port itself (redis-server). Node servers of the
 * tests listen on port 0 instead.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

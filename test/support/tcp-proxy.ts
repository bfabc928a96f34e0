import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/**
 * A TCP proxy to a shared service (PostgreSQL, RabbitMQ) that a test can cut and restore, to take
 * the service away from the processes it points at the proxy without touching the server everyone
 * else uses; or freeze and thaw, to make it look like a server that stopped answering (SIGSTOP).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while frozen: forwarded once thawed. */
  private held: Socket[] = [];
  private frozen = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts accepting again, on the same port as before (a free one the first time). */
  async open(): Promise<void> {
    this.frozen = false;
    const server = createServer((client) => {
      if (!this.frozen) return this.forward(client);
      // A frozen server's kernel still accepts connections; nothing answers on them.
      this.sockets.add(client);
      client.once('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      client.pause();
      this.held.push(client);
    });
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(this.port, '127.0.0.1', () => done());
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  private forward(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.pairs.delete(pair);
      });
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  /**
   * Stops forwarding in both directions, keeping every connection open and accepting new ones
   * that get no answer: what clients see of a server that was frozen.
   */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again, what was held back included. */
  thaw(): void {
    this.frozen = false;
    for (const { client, upstream } of this.pairs) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    const held = this.held;
    this.held = [];
    for (const client of held) {
      this.sockets.delete(client);
      client.removeAllListeners('error');
      if (!client.destroyed) this.forward(client);
    }
  }

  /** Stops accepting and cuts every open connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.held = [];
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const rewritten = new URL(url);
    rewritten.hostname = '127.0.0.1';
    rewritten.port = String(this.port);
    return rewritten.toString();
  }
}

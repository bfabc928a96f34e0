import { Client } from 'pg';

type Callback = (error: unknown, result?: unknown) => void;
type Query = (this: Client, ...args: unknown[]) => unknown;

const READ_TIMEOUT = 'Query read timeout';

const isReadTimeout = (error: unknown): boolean =>
  error instanceof Error && error.message === READ_TIMEOUT;

/**
 * Ends a client whose query outlived `query_timeout`. node-postgres answers the caller but keeps
 * the connection, still waiting for that query's reply: returned to the pool, it would hang or fail
 * every query it is lent for while the server is frozen. `end()` destroys the socket of a client
 * with a query in flight and marks it ending, so pg-pool removes it when it is released and opens
 * a fresh connection next time.
 */
function drop(client: Client): void {
  client.end().catch(() => undefined);
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with apply(client)
const baseQuery = Client.prototype.query as Query;

function boundedQuery(this: Client, ...args: unknown[]): unknown {
  const last = args.at(-1);
  if (typeof last === 'function') {
    const callback = last as Callback;
    args[args.length - 1] = (error: unknown, result?: unknown) => {
      if (isReadTimeout(error)) drop(this);
      callback(error, result);
    };
    return baseQuery.apply(this, args);
  }
  const result = baseQuery.apply(this, args);
  // Registered before the caller's own handlers: the client is marked ending before it is released.
  if (result instanceof Promise) {
    result.catch((error: unknown) => {
      if (isReadTimeout(error)) drop(this);
    });
  }
  return result;
}

/** The pg `Client` the pools use: a client whose query timed out is discarded, never reused. */
export class BoundedClient extends Client {}

Object.defineProperty(BoundedClient.prototype, 'query', {
  value: boundedQuery,
  writable: true,
  configurable: true,
});

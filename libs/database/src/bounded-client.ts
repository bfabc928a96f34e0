import { counter, hotCounter, type HotCounter } from '@app/observability';
import { Client, type Pool } from 'pg';

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

/** Where a client counts its queries: set by `countQueries` each time its pool lends it. */
const QUERY_COUNT = Symbol('snip.queryCount');
type Counted = Client & { [QUERY_COUNT]?: HotCounter };

/** The pools a query can go to, as `snip_db_queries_total` labels them. */
export type PoolLabel = 'primary' | 'replica';

/**
 * Counts every query run on a client of `pool` in `snip_db_queries_total{pool}`: the measure of
 * read routing (which reads the replicas take). A pg-pool `acquire` hook tags the client it lends;
 * the query itself then adds one to a plain number (see HotCounter).
 */
export function countQueries(pool: Pool, label: PoolLabel): void {
  const queries = hotCounter(
    counter({
      name: 'snip_db_queries_total',
      help: 'Queries sent to PostgreSQL, by pool (primary or replica)',
      labelNames: ['pool'],
    }),
    { pool: label },
  );
  pool.on('acquire', (client) => {
    (client as Counted)[QUERY_COUNT] = queries;
  });
}

function boundedQuery(this: Client, ...args: unknown[]): unknown {
  (this as Counted)[QUERY_COUNT]?.inc();
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

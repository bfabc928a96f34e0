import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseConfig } from '@app/config';
import { TimeoutError, withTimeout } from '@app/core';
import { counter, hotCounter, ROOT_LOGGER, type Logger } from '@app/observability';
import type { Pool, PoolClient } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { databaseUnreachableCause } from './outage';

type Release = (error?: unknown) => void;
type Obtain = () => Promise<[PoolClient, Release]>;

/** The parts of TypeORM's PostgresDriver that replication uses. */
interface ReplicatedDriver {
  master?: Pool;
  slaves?: Pool[];
  obtainMasterConnection: Obtain;
  obtainSlaveConnection: Obtain;
}

interface Replica {
  readonly pool: Pool;
  /** host:port, for logs and readiness (never the credentials). */
  readonly name: string;
  downSince?: number;
  probe?: NodeJS.Timeout;
}

/** How one replica looks to readiness. */
export interface ReplicaState {
  readonly name: string;
  readonly up: boolean;
}

const connectTo = (pool: Pool): Promise<[PoolClient, Release]> =>
  new Promise((ok, fail) => {
    pool.connect((error, client, release) => {
      if (error || !client) fail(error ?? new Error('no client'));
      else ok([client, release]);
    });
  });

const hostOf = (url: string | undefined, index: number): string => {
  try {
    return new URL(url ?? '').host;
  } catch {
    return `replica ${index + 1}`;
  }
};

/**
 * Whether `error` is a replica cancelling a query that conflicted with the WAL it replays
 * (SQLSTATE 40001 "canceling statement due to conflict with recovery", raised by a hot standby
 * when max_standby_streaming_delay runs out).
 */
function isRecoveryConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { driverError } = error as { driverError?: unknown };
  const source = (
    typeof driverError === 'object' && driverError !== null ? driverError : error
  ) as {
    code?: unknown;
    message?: unknown;
  };
  return (
    source.code === '40001' &&
    typeof source.message === 'string' &&
    source.message.includes('conflict with recovery')
  );
}

/**
 * Reads that tolerate replication lag (link lists, stats) go to a replica and, when none can be
 * reached, to the primary instead of failing. A replica that refused a connection or let a query
 * time out is marked down: reads skip it at once (no timeout waited out per request), it is probed
 * every DATABASE_REPLICA_RETRY_MS, and it takes reads again as soon as it answers. Without
 * replicas, every read goes to the primary.
 *
 * TypeORM picks a replica at random for each `slave` query runner; this replaces that choice on
 * the driver with a round robin over the replicas that are up (the primary when none is).
 */
@Injectable()
export class ReplicaReads implements BeforeApplicationShutdown {
  private readonly replicas: Replica[];
  /** The replica each lent connection belongs to, to mark the right one down when a query fails. */
  private readonly replicaOf = new WeakMap<object, Replica>();
  private next = 0;
  private readonly fallbacks = hotCounter(
    counter({
      name: 'snip_db_replica_fallbacks_total',
      help: 'Replica reads retried on the primary because the replica could not be reached',
    }),
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: DatabaseConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    const driver = dataSource.driver as unknown as ReplicatedDriver;
    this.replicas = (driver.slaves ?? []).map((pool, i) => ({
      pool,
      name: hostOf(config.replicaUrls[i], i),
    }));
    if (this.replicas.length > 0) {
      driver.obtainSlaveConnection = () => this.obtain(driver);
    }
  }

  /** Whether replicas are configured at all. */
  get configured(): boolean {
    return this.replicas.length > 0;
  }

  /**
   * Runs `read` on a replica's query runner; when that replica cannot be reached (refused,
   * connect or query time-out, dropped), marks it down and runs `read` again on the primary. Other
   * errors are the caller's. `read` must only read: it may run twice.
   */
  async read<T>(read: (runner: QueryRunner) => Promise<T>): Promise<T> {
    if (this.replicas.some((replica) => replica.downSince === undefined)) {
      const runner = this.dataSource.createQueryRunner('slave');
      try {
        return await read(runner);
      } catch (error) {
        const connection = (runner as unknown as { databaseConnection?: object })
          .databaseConnection;
        const replica = connection && this.replicaOf.get(connection);
        if (!replica) throw error;
        const cause = databaseUnreachableCause(error);
        if (cause !== undefined) this.markDown(replica, cause, error);
        // A query the replica cancelled to replay WAL: the replica is fine, this read goes to the
        // primary once.
        else if (!isRecoveryConflict(error)) throw error;
      } finally {
        await runner.release();
      }
      this.fallbacks.inc();
    }
    const runner = this.dataSource.createQueryRunner('master');
    try {
      return await read(runner);
    } finally {
      await runner.release();
    }
  }

  /**
   * Each replica, up or not, for readiness. A replica believed up is pinged (bounded by
   * `timeoutMs`) and marked down when it does not answer; one known to be down is reported at once.
   */
  async states(timeoutMs: number): Promise<ReplicaState[]> {
    return Promise.all(
      this.replicas.map(async (replica) => {
        if (replica.downSince !== undefined) return { name: replica.name, up: false };
        try {
          await withTimeout(replica.pool.query('SELECT 1'), timeoutMs, 'timed out');
          return { name: replica.name, up: true };
        } catch (error) {
          const cause =
            error instanceof TimeoutError ? 'PING_TIMEOUT' : databaseUnreachableCause(error);
          if (cause !== undefined) this.markDown(replica, cause, error);
          return { name: replica.name, up: cause === undefined };
        }
      }),
    );
  }

  beforeApplicationShutdown(): void {
    for (const replica of this.replicas) {
      clearTimeout(replica.probe);
      replica.probe = undefined;
    }
    this.replicas.length = 0;
  }

  /** A connection to the next replica that is up; to the primary when none is (or none connects). */
  private async obtain(driver: ReplicatedDriver): Promise<[PoolClient, Release]> {
    for (let tries = 0; tries < this.replicas.length; tries++) {
      const replica = this.pick();
      if (!replica) break;
      try {
        const lent = await connectTo(replica.pool);
        this.replicaOf.set(lent[0], replica);
        return lent;
      } catch (error) {
        const cause = databaseUnreachableCause(error);
        if (cause === undefined) throw error;
        this.markDown(replica, cause, error);
      }
    }
    this.fallbacks.inc();
    return driver.obtainMasterConnection();
  }

  private pick(): Replica | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[(this.next + i) % this.replicas.length]!;
      if (replica.downSince === undefined) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return replica;
      }
    }
    return undefined;
  }

  private markDown(replica: Replica, cause: string, error: unknown): void {
    if (replica.downSince !== undefined) return;
    replica.downSince = Date.now();
    const message = error instanceof Error ? error.message : undefined;
    this.logger.warn(
      { replica: replica.name, code: cause, error: message },
      'database replica unreachable; its reads go to the primary',
    );
    this.scheduleProbe(replica);
  }

  private scheduleProbe(replica: Replica): void {
    if (!this.replicas.includes(replica)) return;
    replica.probe = setTimeout(() => void this.probe(replica), this.config.replicaRetryMs);
    replica.probe.unref();
  }

  /** One bounded query (the pool's connect and query time-outs); any answer means it is back. */
  private async probe(replica: Replica): Promise<void> {
    replica.probe = undefined;
    try {
      await replica.pool.query('SELECT 1');
    } catch (error) {
      if (databaseUnreachableCause(error) !== undefined) {
        this.scheduleProbe(replica);
        return;
      }
    }
    const downMs = Date.now() - (replica.downSince ?? Date.now());
    replica.downSince = undefined;
    this.logger.info({ replica: replica.name, downMs }, 'database replica reachable again');
  }
}

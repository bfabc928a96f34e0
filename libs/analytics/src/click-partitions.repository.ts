import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { dayOfPartition, type DroppedDay, type RawClickStore } from './retention';

/** The tables of raw clicks (and their per-day visitor sets) partitioned by UTC day, as `<table>_YYYYMMDD`. */
const DAY_PARTITIONED_TABLES: readonly string[] = ['clicks', 'click_daily_visitors'];

/**
 * The key of the session advisory lock under which one process at a time drops partitions
 * (an arbitrary constant: 0x736e69700072746e, 'snip' and 'rtn' in ASCII).
 */
const PRUNE_LOCK_KEY = '8317701491564639342';

/**
 * How long a DROP waits for its locks. Dropping a partition takes an ACCESS EXCLUSIVE lock on the
 * parent too; while it waits (behind a long stats query), every insert and read of `clicks` queues
 * behind it. Past this bound it gives up, and the next run tries again.
 */
const DROP_LOCK_TIMEOUT = '2s';

/** Partitions of a table, with their bounds read in UTC (so that a day reads as a day). */
const LIST_PARTITIONS = `
  SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = to_regclass(quote_ident($1))
   ORDER BY c.relname`;

/**
 * The PostgreSQL store of raw clicks as a RawClickStore: drops the day partitions of
 * DAY_PARTITIONED_TABLES. Everything runs on one connection (the embedded database has one),
 * which holds the advisory lock for the whole run.
 */
@Injectable()
export class ClickPartitionsRepository implements RawClickStore {
  readonly name = 'postgres';

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `work` with this connection's session advisory lock held, or returns `undefined` at once
   * if another process (or connection) holds it. The lock goes with the connection if the process
   * dies.
   */
  async withPruneLock<T>(work: (store: RawClickStore) => Promise<T>): Promise<T | undefined> {
    const runner = this.dataSource.createQueryRunner('master');
    await runner.connect();
    try {
      const [row] = (await runner.query(
        `SELECT pg_try_advisory_lock(${PRUNE_LOCK_KEY}::bigint) AS locked`,
      )) as { locked: boolean }[];
      if (!row?.locked) return undefined;
      try {
        return await work(this.on(runner));
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${PRUNE_LOCK_KEY}::bigint)`);
      }
    } finally {
      await runner.release();
    }
  }

  /** Drops (or lists) the expired day partitions on a connection of its own, without the lock. */
  async dropDaysBefore(day: string, options: { dryRun?: boolean } = {}): Promise<DroppedDay[]> {
    const runner = this.dataSource.createQueryRunner('master');
    await runner.connect();
    try {
      return await this.on(runner).dropDaysBefore(day, options);
    } finally {
      await runner.release();
    }
  }

  private on(runner: QueryRunner): RawClickStore {
    return {
      name: this.name,
      dropDaysBefore: async (cutoff, options = {}) => {
        const dropped: DroppedDay[] = [];
        for (const table of DAY_PARTITIONED_TABLES) {
          for (const { name, day } of await this.expiredPartitions(runner, table, cutoff)) {
            if (!options.dryRun) await this.drop(runner, name);
            dropped.push({ table, day });
          }
        }
        return dropped;
      },
    };
  }

  /** The day partitions of `table` of days before `cutoff`, oldest first. */
  private async expiredPartitions(
    runner: QueryRunner,
    table: string,
    cutoff: string,
  ): Promise<{ name: string; day: string }[]> {
    await runner.startTransaction();
    let rows: { name: string; bound: string }[];
    try {
      await runner.query(`SET LOCAL TimeZone = 'UTC'`);
      rows = (await runner.query(LIST_PARTITIONS, [table])) as { name: string; bound: string }[];
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    }
    return rows
      .map(({ name, bound }) => ({ name, day: dayOfPartition(table, name, bound) }))
      .filter((p): p is { name: string; day: string } => p.day !== undefined && p.day < cutoff)
      .sort((a, b) => a.day.localeCompare(b.day));
  }

  /** DROP TABLE of one partition, in a transaction of its own, waiting for locks at most briefly. */
  private async drop(runner: QueryRunner, partition: string): Promise<void> {
    await runner.startTransaction();
    try {
      await runner.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      await runner.query(`DROP TABLE IF EXISTS "${partition.replaceAll('"', '""')}"`);
      await runner.commitTransaction();
    } catch (error) {
      await runner.rollbackTransaction();
      throw error;
    }
  }
}

import { DatabaseConfig } from '@app/config';
import type { Logger } from '@app/observability';
import type { Pool } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { ReplicaReads } from './replica-reads';

const withCode = (message: string, code: string): Error =>
  Object.assign(new Error(message), { code });

/** A server as a pool sees it: answers with its name, or fails every connect or query. */
class FakePool {
  refuse = false;
  failQueries?: Error;
  constructor(readonly name: string) {}

  connect(callback: (error?: Error, client?: unknown, release?: () => void) => void): void {
    if (this.refuse) callback(withCode('connect ECONNREFUSED', 'ECONNREFUSED'));
    else callback(undefined, this.client(), () => undefined);
  }

  query(): Promise<unknown> {
    if (this.refuse) return Promise.reject(withCode('connect ECONNREFUSED', 'ECONNREFUSED'));
    return this.client().query();
  }

  private client() {
    return {
      query: () =>
        this.failQueries ? Promise.reject(this.failQueries) : Promise.resolve(this.name),
    };
  }
}

/** TypeORM's side, reduced to what ReplicaReads uses: runners that obtain a connection on query. */
function fakeDataSource(master: FakePool, slaves: FakePool[]) {
  const driver = {
    slaves: slaves as unknown as Pool[],
    obtainMasterConnection: () =>
      new Promise((ok, fail) =>
        master.connect((error, client, release) => (error ? fail(error) : ok([client, release]))),
      ),
    obtainSlaveConnection: (): Promise<unknown> => Promise.reject(new Error('not replaced')),
  };
  const createQueryRunner = (mode: 'master' | 'slave') => {
    const runner = {
      databaseConnection: undefined as { query(): Promise<string> } | undefined,
      async query(): Promise<string> {
        const [client] = (await (mode === 'slave'
          ? driver.obtainSlaveConnection()
          : driver.obtainMasterConnection())) as [{ query(): Promise<string> }];
        runner.databaseConnection = client;
        return client.query();
      },
      release: () => Promise.resolve(),
    };
    return runner;
  };
  return { driver, createQueryRunner } as unknown as DataSource;
}

const silent = { warn: () => undefined, info: () => undefined } as unknown as Logger;

function setUp(replicaCount: number) {
  const master = new FakePool('primary');
  const replicas = Array.from({ length: replicaCount }, (_, i) => new FakePool(`replica${i + 1}`));
  const config = Object.assign(new DatabaseConfig(), {
    replicaUrls: replicas.map((_, i) => `postgres://u:secret@10.0.0.${i + 1}:5432/snip`),
    replicaRetryMs: 1000,
  });
  const reads = new ReplicaReads(fakeDataSource(master, replicas), config, silent);
  const read = (): Promise<string> =>
    reads.read((runner: QueryRunner) => runner.query('SELECT') as Promise<string>);
  return { master, replicas, reads, read };
}

describe('ReplicaReads', () => {
  afterEach(() => jest.useRealTimers());

  it('takes the replicas in turn', async () => {
    const { read } = setUp(2);
    const served = [await read(), await read(), await read(), await read()];
    expect(served).toEqual(['replica1', 'replica2', 'replica1', 'replica2']);
  });

  it('skips a replica that refuses, probes it, and takes it back once it answers', async () => {
    jest.useFakeTimers();
    const { replicas, reads, read } = setUp(2);
    replicas[0]!.refuse = true;
    const served = [await read(), await read(), await read()];
    expect(served).toEqual(['replica2', 'replica2', 'replica2']);
    expect(await reads.states(100)).toEqual([
      { name: '10.0.0.1:5432', up: false },
      { name: '10.0.0.2:5432', up: true },
    ]);

    await jest.advanceTimersByTimeAsync(1000);
    expect(await read()).toBe('replica2');
    replicas[0]!.refuse = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(new Set([await read(), await read()])).toEqual(new Set(['replica1', 'replica2']));
    reads.beforeApplicationShutdown();
  });

  it('runs a read again on the primary when its replica times out, then goes there directly', async () => {
    const { replicas, reads, read } = setUp(1);
    replicas[0]!.failQueries = new Error('Query read timeout');
    expect(await read()).toBe('primary');
    replicas[0]!.failQueries = undefined;
    // Marked down: the primary serves until a probe finds the replica back.
    expect(await read()).toBe('primary');
    expect((await reads.states(100))[0]?.up).toBe(false);
    reads.beforeApplicationShutdown();
  });

  it('runs a read the replica cancelled for recovery again on the primary, keeping the replica', async () => {
    const { replicas, reads, read } = setUp(1);
    replicas[0]!.failQueries = withCode(
      'canceling statement due to conflict with recovery',
      '40001',
    );
    expect(await read()).toBe('primary');
    replicas[0]!.failQueries = undefined;
    expect(await read()).toBe('replica1');
    expect((await reads.states(100))[0]?.up).toBe(true);
  });

  it('leaves other failures to the caller', async () => {
    const { replicas, read } = setUp(1);
    replicas[0]!.failQueries = withCode('syntax error', '42601');
    await expect(read()).rejects.toThrow('syntax error');
    replicas[0]!.failQueries = undefined;
    expect(await read()).toBe('replica1');
  });

  it('reads from the primary when no replica is configured', async () => {
    const { reads, read } = setUp(0);
    expect(reads.configured).toBe(false);
    expect(await read()).toBe('primary');
  });
});

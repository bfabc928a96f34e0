import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { query, type TestDatabase } from './database';
import { ROOT } from './process';

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'scripts/pg-topology.sh');

const port = (name: string, fallback: number): number =>
  Number(process.env[`SNIP_TOPOLOGY_${name}_PORT`] ?? fallback);

/** Where scripts/pg-topology.sh serves each part (the same env overrides as the script). */
const PORTS = {
  primary: port('PRIMARY', 5442),
  replica: port('REPLICA', 5443),
  'bouncer-primary': port('BOUNCER_PRIMARY', 6442),
  'bouncer-replica': port('BOUNCER_REPLICA', 6443),
} as const;

export type TopologyPart = keyof typeof PORTS;

/**
 * Runs scripts/pg-topology.sh with `args` (`up`, `stop replica`, `freeze replica`...). `up`
 * installs PgBouncer on a machine that lacks it and creates the clusters the first time.
 */
export async function topology(...args: string[]): Promise<void> {
  await run('bash', [SCRIPT, ...args], { timeout: 240_000 });
}

/** The URL of database `name` on `part` (user postgres, trust auth). */
export const topologyUrl = (part: TopologyPart, name: string): string =>
  `postgres://postgres@127.0.0.1:${PORTS[part]}/${name}`;

/** A new empty database on the topology's primary (the replica follows); `drop` removes it. */
export async function createTopologyDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = topologyUrl('primary', 'postgres');
  await query(admin, `CREATE DATABASE "${name}"`);
  return {
    url: topologyUrl('primary', name),
    name,
    drop: async () => {
      await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

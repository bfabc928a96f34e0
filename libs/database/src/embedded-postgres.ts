import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { lockDataDir } from './data-dir-lock';

export interface EmbeddedPostgres {
  /** A postgres:// URL the ordinary `pg` driver connects to. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder for the database files; created when missing. */
  readonly dataDir: string;
  /** Loopback port to serve on; 0 picks a free one. */
  readonly port: number;
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) on a loopback port, so the embedded default
 * runs the same driver, queries and migrations as a real PostgreSQL. PGlite is a single session:
 * the server takes one connection at a time, and the pool in front of it must have size 1.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  // PGlite is one process's database: a second process on the same files would work on a copy
  // that one of the two loses. The lock makes the second one refuse to start.
  const unlock = await lockDataDir(options.dataDir);
  const dir = join(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (error) {
    await unlock();
    throw error;
  }
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port,
    maxConnections: 1,
  });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
      await unlock();
    },
  };
}

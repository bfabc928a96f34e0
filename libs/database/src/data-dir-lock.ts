import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StartupError } from '@app/observability';
import { lock } from 'proper-lockfile';

/** Within this time a lock of a process that died without releasing it counts as held. */
const STALE_MS = 10_000;
const LOCK_FILE = 'snip.lock';
const OWNER_FILE = 'snip.lock.owner';

/** Another process holds the embedded data directory. */
class DataDirInUseError extends StartupError {
  constructor(
    readonly dataDir: string,
    owner: string,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by another snip process (${owner}); ` +
        'stop it first, or give this one its own DATA_DIR',
    );
    this.name = 'DataDirInUseError';
  }
}

interface Owner {
  readonly pid: number;
  readonly host: string;
}

function readOwner(dir: string): Owner | undefined {
  try {
    const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string'
      ? { pid: owner.pid, host: owner.host }
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when `owner` is a process that still runs (on this host; elsewhere we cannot tell). */
function ownerAlive(owner: Owner | undefined): boolean {
  if (!owner) return true;
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const describe = (owner: Owner | undefined): string =>
  owner ? `pid ${owner.pid} on ${owner.host}` : 'owner unknown';

export interface DataDirLockOptions {
  /** Called when another process took the lock over while this one held it. */
  readonly onCompromised?: (error: Error) => void;
}

/**
 * Takes an exclusive lock on the embedded data directory, so a second api, logs worker or CLI
 * on the same DATA_DIR refuses to start instead of writing to a copy of the database that one of
 * them will lose. A live holder is refused at once; the lock of a process that died without
 * releasing it (SIGKILL, power loss) is taken over once it is stale, after at most 10 s.
 * Resolves to the function that releases the lock; a normal exit releases it too.
 */
export async function lockDataDir(
  dir: string,
  options: DataDirLockOptions = {},
): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true });
  const lockfilePath = join(dir, LOCK_FILE);
  const take = (retries: number) =>
    lock(dir, {
      lockfilePath,
      stale: STALE_MS,
      retries: { retries, factor: 1, minTimeout: 500, maxTimeout: 500 },
      onCompromised: options.onCompromised,
    });
  let release: () => Promise<void>;
  try {
    release = await take(0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const owner = readOwner(dir);
    if (ownerAlive(owner)) throw new DataDirInUseError(dir, describe(owner));
    // Left behind by a process that is gone: wait until the lock is stale and take it over.
    try {
      release = await take(Math.ceil(STALE_MS / 500) + 2);
    } catch (retryError) {
      if ((retryError as NodeJS.ErrnoException).code !== 'ELOCKED') throw retryError;
      throw new DataDirInUseError(dir, describe(readOwner(dir)));
    }
  }
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, host: hostname() }));
  return release;
}

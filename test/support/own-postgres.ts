import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';

const run = promisify(execFile);

/** The newest PostgreSQL server binaries Debian installed (`/usr/lib/postgresql/<major>/bin`). */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((major) => existsSync(join(root, major, 'bin/initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors[0]) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, majors[0], 'bin');
}

/**
 * A throwaway PostgreSQL cluster of the test's own, in a temporary directory on a port from the OS
 * (kept across restarts), for tests that stop the database: the shared one on 5432 is never
 * touched. Runs as `postgres` (the tests run as root, which PostgreSQL refuses), trust auth on
 * 127.0.0.1, fsync off. `destroy()` in an afterAll stops it and removes everything, whatever state
 * the test left it in.
 */
export class OwnPostgres {
  private readonly bin = serverBin();
  private readonly dir = mkdtempSync(join(tmpdir(), 'snip-pg-'));
  private readonly data = join(this.dir, 'data');
  private readonly log = join(this.dir, 'postgres.log');
  private port_ = 0;
  private initialised = false;

  /** The port; 0 until the first start. */
  get port(): number {
    return this.port_;
  }

  /** The URL of database `name` (default `postgres`) on this cluster. */
  url(name = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port_}/${name}`;
  }

  /**
   * Creates the cluster on the first call, then starts it and resolves once it takes connections.
   * The first start takes a free port from the OS, and another should something take it first.
   */
  async start(): Promise<void> {
    if (!this.initialised) {
      await run('chown', ['postgres:postgres', this.dir]);
      await this.asPostgres('initdb', [
        '-D',
        this.data,
        '-U',
        'postgres',
        '--auth=trust',
        '--no-sync',
        '-E',
        'UTF8',
      ]);
      this.initialised = true;
    }
    for (let attempt = 1; ; attempt++) {
      const first = this.port_ === 0;
      if (first) this.port_ = await freePort();
      try {
        await this.pgCtl('start', [
          '-l',
          this.log,
          '-o',
          `-p ${this.port_} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off` +
            ' -c synchronous_commit=off -c full_page_writes=off',
        ]);
        return;
      } catch (error) {
        const taken = this.logText().includes('could not bind');
        if (!first || !taken || attempt >= 3) {
          throw new Error(`own PostgreSQL did not start: ${String(error)}\n${this.logText()}`);
        }
        this.port_ = 0;
      }
    }
  }

  /** `pg_ctl stop -m <mode>`: fast (the default) ends sessions and shuts down cleanly. */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pgCtl('stop', ['-m', mode]);
  }

  /** Stops the cluster if it runs and removes its directory; never throws. */
  async destroy(): Promise<void> {
    if (this.initialised && existsSync(join(this.data, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private logText(): string {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  private pgCtl(action: 'start' | 'stop', args: readonly string[]): Promise<unknown> {
    return this.asPostgres('pg_ctl', [action, '-w', '-t', '30', '-D', this.data, ...args]);
  }

  private asPostgres(program: string, args: readonly string[]): Promise<unknown> {
    return run('runuser', ['-u', 'postgres', '--', join(this.bin, program), ...args], {
      cwd: this.dir,
      timeout: 60_000,
    });
  }
}

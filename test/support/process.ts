import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');

const SNAPSHOTS = join(ROOT, 'node_modules/.cache/snip-test-dist');

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The processes whose parent is `pid`, such as the workers of an api with WEB_CONCURRENCY. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((child) => Number.isInteger(child))
      .sort((a, b) => a - b);
  } catch {
    // ps exits 1 when there is none.
    return [];
  }
}

/**
 * The built entry `name` (such as `main.js`), from a private copy of `dist/` taken the first time
 * this test process asks: a `npm run build` started meanwhile (which empties `dist/`) cannot pull
 * the code out from under the processes the tests start. The copy lives under node_modules, so the
 * built code still finds its dependencies; copies of test processes that are gone are removed.
 */
export function built(name: 'main.js' | 'cli.js', app: 'api' | 'logs' | 'edge' = 'api'): string {
  // Named by pid and start time, so a later process that reuses the pid never finds it.
  const started = Math.round(Date.now() / 1000 - process.uptime());
  const snapshot = join(SNAPSHOTS, `${process.pid}-${started}`);
  if (!existsSync(join(snapshot, 'apps/api/src/main.js'))) {
    const source = join(ROOT, 'dist');
    if (!existsSync(join(source, 'apps/api/src/main.js'))) {
      throw new Error('dist/ has no built api: run `npm run build` before these tests');
    }
    mkdirSync(SNAPSHOTS, { recursive: true });
    for (const entry of readdirSync(SNAPSHOTS)) {
      const pid = Number.parseInt(entry, 10);
      if (!Number.isInteger(pid) || !alive(pid)) {
        rmSync(join(SNAPSHOTS, entry), { recursive: true, force: true });
      }
    }
    const staging = mkdtempSync(`${snapshot}.`);
    cpSync(source, staging, { recursive: true });
    renameSync(staging, snapshot);
  }
  return join(snapshot, `apps/${app}/src`, name);
}

/** A built app (the api or the logs worker) running as a process of its own. */
export interface SpawnedApp {
  readonly url: string;
  readonly process: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far (the logs worker: the first 2000). */
  readonly output: string[];
  /** Resolves with the exit code once the process is gone, however it ended. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export type SpawnedApi = SpawnedApp;
export type SpawnedLogs = SpawnedApp;
export type SpawnedEdge = SpawnedApp;

export interface SpawnOptions {
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /**
   * DATA_DIR to use and keep (the caller removes it), such as for a restart on the same embedded
   * database. By default a temporary one is made and removed when the process stops.
   */
  readonly dataDir?: string;
}

/** The environment every process the tests start begins with. */
const testEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  SNIP_PROFILE: 'test',
  LOG_LEVEL: 'info',
});

/** The environment every spawned api starts from, before the caller's `env`. */
function baseEnv(dataDir: string): Record<string, string> {
  return {
    ...testEnv(),
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SHORT_CODE_SECRET: 'e2e-secret-0123456789abcdef',
  };
}

/** Starts the built entry `entry` with `args`, exactly `env`, and stdout and stderr piped. */
function launch(entry: string, args: readonly string[], env: Record<string, string>) {
  return spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface AppLaunch {
  /** The whole environment of the process. */
  readonly env: Record<string, string>;
  readonly timeoutMs: number;
  /** How many lines of output to keep; all by default. */
  readonly keepLines?: number;
  /** Runs once the process is gone: when it failed to start, or after `stop`. */
  readonly cleanup?: () => void;
}

/**
 * Runs the built `app` and resolves once it logs "snip <app> listening" with its url; kills it,
 * and rejects with its output, if it exits first or outlives `timeoutMs`.
 */
async function spawnApp(app: 'api' | 'logs' | 'edge', options: AppLaunch): Promise<SpawnedApp> {
  const name = app === 'logs' ? 'logs worker' : app;
  const listening = new RegExp(`"url":"(http://[^"]+)".*snip ${app} listening`);
  const keepLines = options.keepLines ?? Infinity;
  const cleanup = options.cleanup ?? (() => undefined);
  const child = launch(built('main.js', app), [], options.env);
  const output: string[] = [];
  // Resolves once the output is read to its end as well ('close'), so a line written just before
  // the exit is in `output`; bounded, as a worker or grandchild can hold the pipes open longer.
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      const bound = setTimeout(() => done(code), 2_000);
      child.once('close', () => {
        clearTimeout(bound);
        done(code);
      });
    }),
  );

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not start in time:\n${output.join('\n')}`)),
      options.timeoutMs,
    );
    const onLine = (line: string): void => {
      if (output.length < keepLines) output.push(line);
      const match = listening.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        lines.forEach(onLine);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    cleanup();
    throw error;
  });

  return {
    url,
    process: child,
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      cleanup();
      return code;
    },
  };
}

/**
 * Runs the built api (`npm run build` first) as its own process on a free loopback port, with the
 * `test` profile, a temporary DATA_DIR, and `env` on top; resolves once it listens.
 */
export function spawnApi(options: SpawnOptions = {}): Promise<SpawnedApi> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'snip-e2e-'));
  return spawnApp('api', {
    env: { ...baseEnv(dataDir), ...options.env },
    timeoutMs: options.timeoutMs ?? 60_000,
    cleanup: () => {
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Runs the built logs worker (`npm run build` first) as its own process on a free loopback port,
 * with the `test` profile and `env` on top; resolves once it listens.
 */
export function spawnLogs(env: Record<string, string>, timeoutMs = 60_000): Promise<SpawnedLogs> {
  return spawnApp('logs', {
    env: { ...testEnv(), HOST: '127.0.0.1', LOGS_PORT: '0', ...env },
    timeoutMs,
    keepLines: 2000,
  });
}

/**
 * Runs the built edge (`npm run build` first) on a free loopback port, with the `test` profile and
 * `env` on top (EDGE_UPSTREAM_URL, REDIS_URL and a broker transport at least); resolves once it
 * listens.
 */
export function spawnEdge(env: Record<string, string>, timeoutMs = 60_000): Promise<SpawnedEdge> {
  return spawnApp('edge', {
    env: { ...testEnv(), HOST: '127.0.0.1', EDGE_PORT: '0', ...env },
    timeoutMs,
    keepLines: 2000,
  });
}

/** Runs a command-line entry of the built api to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = launch(built('cli.js'), args, { ...testEnv(), ...env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => done({ code, output }));
  });
}

export interface FinishedProcess {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built api with `env` (on top of the same defaults as spawnApi) for a start-up that is
 * expected to fail, and resolves with its exit code and output once it exits. Kills it, and
 * rejects, if it listens instead or outlives `timeoutMs`.
 */
export function runApiToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
  /** DATA_DIR to use and keep; by default a temporary one, removed once the process is gone. */
  keptDataDir?: string,
): Promise<FinishedProcess> {
  const dataDir = keptDataDir ?? mkdtempSync(join(tmpdir(), 'snip-e2e-'));
  const child = launch(built('main.js'), [], { ...baseEnv(dataDir), ...env });
  let stdout = '';
  let stderr = '';
  return new Promise<FinishedProcess>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`api did not exit in time:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('snip api listening')) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        fail(new Error(`api started although it should not have:\n${stdout}`));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  }).finally(() => {
    if (keptDataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
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

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The built entry `name` (such as `main.js`), from a private copy of `dist/` taken the first time
 * this test process asks: a `npm run build` started meanwhile (which empties `dist/`) cannot pull
 * the code out from under the processes the tests start. The copy lives under node_modules, so the
 * built code still finds its dependencies; copies of test processes that are gone are removed.
 */
export function built(name: 'main.js' | 'cli.js', app: 'api' | 'logs' = 'api'): string {
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

export interface SpawnedApi {
  readonly url: string;
  readonly process: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly output: string[];
  /** Resolves with the exit code once the process is gone, however it ended. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnOptions {
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /**
   * DATA_DIR to use and keep (the caller removes it), such as for a restart on the same embedded
   * database. By default a temporary one is made and removed when the process stops.
   */
  readonly dataDir?: string;
}

/** The environment every spawned api starts from, before the caller's `env`. */
function baseEnv(dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SNIP_PROFILE: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SHORT_CODE_SECRET: 'e2e-secret-0123456789abcdef',
    LOG_LEVEL: 'info',
  };
}

/**
 * Runs the built api (`npm run build` first) as its own process on a free loopback port, with the
 * `test` profile, a temporary DATA_DIR, and `env` on top; resolves once it listens.
 */
export async function spawnApi(options: SpawnOptions = {}): Promise<SpawnedApi> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'snip-e2e-'));
  const child = spawn(process.execPath, [built('main.js')], {
    cwd: ROOT,
    env: { ...baseEnv(dataDir), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const cleanup = () => {
    if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  };

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`api did not start in time:\n${output.join('\n')}`)),
      options.timeoutMs ?? 60_000,
    );
    const onLine = (line: string): void => {
      output.push(line);
      const match = /"url":"(http:\/\/[^"]+)".*snip api listening/.exec(line);
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
      fail(new Error(`api exited with ${code} before listening:\n${output.join('\n')}`));
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

/** Runs a command-line entry of the built api to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [built('cli.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', SNIP_PROFILE: 'test', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
): Promise<FinishedProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'snip-e2e-'));
  const child = spawn(process.execPath, [built('main.js')], {
    cwd: ROOT,
    env: { ...baseEnv(dataDir), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  }).finally(() => rmSync(dataDir, { recursive: true, force: true }));
}

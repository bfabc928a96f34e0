import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { hasTaskset } from './processes';

/**
 * wrk driven by bench/redirect/load.lua, for the benches that measure built processes over HTTP
 * (bench/edge, bench/coldstart): a closed loop or Poisson arrivals at a rate, every answer's
 * status checked, one JSON report parsed. wrk runs on core 1 when taskset exists (the servers
 * measured are pinned to core 0).
 */

const ROOT = process.cwd();
const LOAD_LUA = join(ROOT, 'bench/redirect/load.lua');

/** Installs wrk when it is missing (scripts/tools.sh). */
export function ensureWrk(): void {
  execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'wrk'], { stdio: 'inherit' });
}

export interface Target {
  readonly url: string;
  /** One path, or /<cycle>1 .. /<cycle><count> in turn. */
  readonly paths: { readonly fixed: string } | { readonly cycle: string; readonly count: number };
}

export interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** Requests wrk gave up on after 2 s (only with `timeoutsMeasured`; otherwise a failure). */
  readonly timeouts: number;
  /** Paced runs: rate reached after the skipped start, and its latency. */
  readonly steady?: { readonly rps: number; readonly p50: number; readonly p99: number };
}

export interface WrkOptions {
  /** Paced at this many requests/s (Poisson arrivals); 0: a closed loop. */
  readonly rate?: number;
  /** Paced runs: latency of the first this many seconds is left out. */
  readonly skipSeconds?: number;
  /** The status every answer must have. */
  readonly expect?: number;
  /** Count requests wrk gave up on (2 s) in `timeouts` rather than as a failure. */
  readonly timeoutsMeasured?: boolean;
}

/**
 * Failures seen so far (errors, wrong statuses): a bench prints them and exits non-zero, since a
 * rate measured on wrong answers means nothing.
 */
export const wrkFailures: string[] = [];

/** One wrk run of `seconds` with `connections`; rejects when wrk fails or reports nothing. */
export function wrk(
  label: string,
  target: Target,
  seconds: number,
  connections: number,
  options: WrkOptions = {},
): Promise<Measurement> {
  const { rate = 0, skipSeconds = 0, expect = 302, timeoutsMeasured = false } = options;
  const url = 'fixed' in target.paths ? target.url + target.paths.fixed : target.url;
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', LOAD_LUA, '--latency', url];
  const [command = 'wrk', ...argv] = hasTaskset
    ? ['taskset', '-c', '1', 'wrk', ...args]
    : ['wrk', ...args];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: {
      ...process.env,
      SNIP_WRK_EXPECT: String(expect),
      SNIP_WRK_PREFIX: 'cycle' in target.paths ? target.paths.cycle : '',
      SNIP_WRK_COUNT: String('cycle' in target.paths ? target.paths.count : 0),
      SNIP_WRK_RATE: String(rate),
      SNIP_WRK_THREADS: '1',
      SNIP_WRK_SKIP_MS: String(rate > 0 ? skipSeconds * 1000 : 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => {
      clearTimeout(guard);
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) {
        fail(new Error(`wrk ${argv.join(' ')}: ${code}\n${stdout}`));
        return;
      }
      const report = JSON.parse(line) as {
        rps: number;
        requests: number;
        p50_ms: number;
        p99_ms: number;
        steady_requests: number;
        steady_seconds: number;
        steady_p50_ms: number;
        steady_p99_ms: number;
        errors: Record<string, number>;
        unexpected: number;
        unexpected_statuses: Record<string, number>;
      };
      const { connect = 0, read = 0, write = 0, timeout = 0 } = report.errors;
      const wrong = connect + read + write + (timeoutsMeasured ? 0 : timeout) + report.unexpected;
      if (wrong > 0) {
        const failure = `${label}: ${wrong} errors or wrong answers ${JSON.stringify({ ...report.errors, statuses: report.unexpected_statuses })}`;
        wrkFailures.push(failure);
        process.stdout.write(`  ! ${failure}\n`);
      }
      done({
        rps: report.rps,
        requests: report.requests,
        timeouts: timeoutsMeasured ? timeout : 0,
        p50: report.p50_ms,
        p99: report.p99_ms,
        ...(rate > 0 && report.steady_seconds > 0
          ? {
              steady: {
                rps: report.steady_requests / report.steady_seconds,
                p50: report.steady_p50_ms,
                p99: report.steady_p99_ms,
              },
            }
          : {}),
      });
    });
  });
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
export const ms = (value: number): string => value.toFixed(2);
export const percent = (value: number): string => `${(value * 100).toFixed(0)}%`;

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
/** The wrk script every bench drives wrk with. */
export const LOAD_LUA = join(ROOT, 'bench/redirect/load.lua');

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
  readonly max: number;
  readonly requests: number;
  /** Requests wrk gave up on after 2 s (only with `timeoutsMeasured`; otherwise a failure). */
  readonly timeouts: number;
  /** Socket errors, timeouts and unexpected statuses, in words; empty when every answer was right. */
  readonly failures: string[];
  /** Paced runs: rate reached after the skipped start, and its latency. */
  readonly steady?: {
    readonly rps: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
  };
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

/** The line of JSON load.lua prints when wrk is done. */
interface WrkReport {
  readonly requests: number;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  /** Paced runs: what load.lua measured itself, after the skipped start (SNIP_WRK_SKIP_MS). */
  readonly steady_requests: number;
  readonly steady_seconds: number;
  readonly steady_p50_ms: number;
  readonly steady_p99_ms: number;
  readonly steady_max_ms: number;
  readonly errors: Partial<Record<'connect' | 'read' | 'write' | 'timeout' | 'status', number>>;
  readonly unexpected: number;
  /** Counts by status; status 0 counts answers that did not echo the request's X-Request-Id. */
  readonly unexpected_statuses: Record<string, number>;
}

/**
 * Failures seen so far (errors, wrong statuses), labelled: a bench prints them and exits non-zero,
 * since a rate measured on wrong answers means nothing.
 */
export const wrkFailures: string[] = [];

/** The command line of a wrk run (wrk on core 1 when taskset exists), without its environment. */
export function wrkArgv(target: Target, seconds: number, connections: number): string[] {
  const url = 'fixed' in target.paths ? target.url + target.paths.fixed : target.url;
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', LOAD_LUA, '--latency', url];
  return hasTaskset ? ['taskset', '-c', '1', 'wrk', ...args] : ['wrk', ...args];
}

/** What went wrong in a run, in words (socket errors, timeouts, wrong answers, wrk's stderr). */
function failuresOf(report: WrkReport, expect: number, timeoutsMeasured: boolean, stderr: string) {
  const found: string[] = [];
  const { connect = 0, read = 0, write = 0, timeout = 0 } = report.errors;
  if (connect + read + write > 0) {
    found.push(`socket errors: connect ${connect}, read ${read}, write ${write}`);
  }
  if (timeout > 0 && !timeoutsMeasured) found.push(`${timeout} timeouts`);
  if (report.unexpected > 0) {
    const statuses = Object.entries(report.unexpected_statuses)
      .map(([status, n]) => `${n} x ${status === '0' ? 'no x-request-id echoed' : status}`)
      .join(', ');
    found.push(`${report.unexpected} answers not ${expect}: ${statuses}`);
  }
  if (report.requests === 0) found.push('no answer at all');
  if (stderr.trim()) found.push(`wrk: ${stderr.trim()}`);
  return found;
}

/**
 * One wrk run of `seconds` with `connections`: a closed loop, or paced at `options.rate`. Rejects
 * when wrk fails or reports nothing; a run with wrong answers resolves, its `failures` printed at
 * once and added to `wrkFailures` under `label`.
 */
export function wrk(
  label: string,
  target: Target,
  seconds: number,
  connections: number,
  options: WrkOptions = {},
): Promise<Measurement> {
  const { rate = 0, skipSeconds = 0, expect = 302, timeoutsMeasured = false } = options;
  const [command = 'wrk', ...argv] = wrkArgv(target, seconds, connections);
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
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // wrk stops by itself after `seconds`; this only guards against a wrk that hangs.
  const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  return new Promise((done, fail) => {
    child.once('error', (error) => {
      clearTimeout(guard);
      fail(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) {
        fail(new Error(`${command} ${argv.join(' ')}: ${code ?? signal}\n${stdout}${stderr}`));
        return;
      }
      const report = JSON.parse(line) as WrkReport;
      const failures = failuresOf(report, expect, timeoutsMeasured, stderr);
      for (const failure of failures) {
        wrkFailures.push(`${label}: ${failure}`);
        process.stdout.write(`  ! ${label}: ${failure}\n`);
      }
      done({
        rps: report.rps,
        requests: report.requests,
        timeouts: timeoutsMeasured ? (report.errors.timeout ?? 0) : 0,
        p50: report.p50_ms,
        p99: report.p99_ms,
        max: report.max_ms,
        failures,
        ...(rate > 0 && report.steady_seconds > 0
          ? {
              steady: {
                rps: report.steady_requests / report.steady_seconds,
                p50: report.steady_p50_ms,
                p99: report.steady_p99_ms,
                max: report.steady_max_ms,
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

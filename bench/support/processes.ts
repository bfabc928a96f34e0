import { execFileSync, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';

/** What the benchmarks share: free ports, and built snip processes started and stopped. */

const ROOT = process.cwd();
const API_MAIN = resolve(__dirname, '../../apps/api/src/main.js');
const EDGE_MAIN = resolve(__dirname, '../../apps/edge/src/main.js');

/** Whether taskset can pin processes to cores (util-linux). */
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** `node args` on core 0 when taskset exists and `pinned`: the command and its arguments. */
export function pinnedNode(args: string[], pinned = true): [string, string[]] {
  return hasTaskset && pinned
    ? ['taskset', ['-c', '0', process.execPath, ...args]]
    : [process.execPath, args];
}

export interface Api {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => done(port));
    });
  });
}

/** A process that is ready once a line of its output matches `ready` (bounded: 60 s). */
export function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ match: RegExpExecArray; pid: number; stop(): Promise<void> }> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let output = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${command}: no start:\n${output}`)), 60_000);
    let found = false;
    const onData = (chunk: Buffer): void => {
      if (found) return;
      output += chunk.toString();
      const match = ready.exec(output);
      if (!match) return;
      found = true;
      clearTimeout(timer);
      done({
        match,
        pid: child.pid!,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => fail(new Error(`${command} exited before it was ready:\n${output}`)));
  });
}

/** The built api on a free port, on core 0 when `pinned` (and taskset exists). */
export async function startApi(env: Record<string, string>, pinned = false): Promise<Api> {
  const [command, args] = pinnedNode([API_MAIN], pinned);
  const started = await startProcess(
    command,
    args,
    {
      SNIP_PROFILE: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      SHORT_CODE_SECRET: 'bench-secret-0123456789abcdef',
      LOG_LEVEL: 'info',
      SWAGGER_ENABLED: 'false',
      REDIRECT_ACCESS_LOG_SAMPLE_RATE: '0',
      ...env,
    },
    /"url":"(http:\/\/[^"]+)".*snip api listening/,
  );
  return { url: started.match[1]!, pid: started.pid, stop: () => started.stop() };
}

/** The built edge on a free port in front of `upstream`, on core 0 when `pinned`. */
export async function startEdge(
  upstream: string,
  env: Record<string, string>,
  pinned = false,
): Promise<Api> {
  const [command, args] = pinnedNode([EDGE_MAIN], pinned);
  const started = await startProcess(
    command,
    args,
    {
      SNIP_PROFILE: 'test',
      HOST: '127.0.0.1',
      EDGE_PORT: '0',
      EDGE_UPSTREAM_URL: upstream,
      LOG_LEVEL: 'info',
      ...env,
    },
    /"url":"(http:\/\/[^"]+)".*snip edge listening/,
  );
  return { url: started.match[1]!, pid: started.pid, stop: () => started.stop() };
}

/**
 * A redis-server of the bench's own on a free loopback port, empty and without persistence,
 * answering PING when this resolves; killed when the bench process exits, whatever ends it.
 */
export async function startRedisServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // Never left behind, whatever ends the bench.
  process.once('exit', () => child.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined); // refused until redis-server listens: retried below
  for (let attempt = 0; ; attempt++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      probe.disconnect();
      if (attempt >= 50) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  probe.disconnect();
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

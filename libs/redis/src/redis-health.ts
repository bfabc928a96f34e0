import { withTimeout } from '@app/core';
import type { Logger } from '@app/observability';
import type { Redis } from 'ioredis';

/** Consecutive failed commands (time-outs, dropped connection) after which Redis counts as down. */
export const FAILURES_TO_OPEN = 3;

export interface RedisHealthOptions {
  /** Names the client in the log lines (`shared`, `clicks`, `clicks-reader`, ...). */
  readonly name: string;
  readonly logger: Logger;
  /**
   * How often a client that is down while its connection stays open (a frozen Redis: no 'close'
   * arrives) sends a PING to learn that Redis is back; the PING gets as long to answer. 0: never.
   */
  readonly probeIntervalMs: number;
}

/** What a command gets instead of waiting on a Redis known to be down. */
export class RedisUnavailableError extends Error {
  constructor(name: string) {
    super(`redis (${name}) is down: not waiting for it`);
    this.name = 'RedisUnavailableError';
  }
}

const watched = new WeakMap<Redis, RedisHealth>();

/** The tracker watchRedis attached to `redis`, if any. */
export function redisHealth(redis: Redis): RedisHealth | undefined {
  return watched.get(redis);
}

/**
 * Attaches a RedisHealth to `redis` (once): its 'error' listener (so that ioredis prints nothing
 * to stderr) and one log line per change between up and down.
 */
export function watchRedis(redis: Redis, options: RedisHealthOptions): RedisHealth {
  let health = watched.get(redis);
  if (!health) {
    health = new RedisHealth(redis, options);
    watched.set(redis, health);
  }
  return health;
}

/**
 * Whether one ioredis client is usable: a small circuit breaker. Down (open) when the connection
 * closes or fails, or after FAILURES_TO_OPEN commands in a row failed without a reply (a frozen
 * Redis keeps its connection open, and each command would wait its whole time-out). While down,
 * `run` fails at once; a PING every probe interval (or the connection's next 'ready') brings it
 * back up. Redis' own error replies (NOSCRIPT, WRONGTYPE, ...) prove it answers: they count as up.
 */
export class RedisHealth {
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private failures = 0;
  private probe: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisHealthOptions,
  ) {
    redis.on('ready', () => this.markUp());
    redis.on('error', (error: Error) => {
      if (redis.status !== 'ready') this.markDown(error);
    });
    redis.on('close', () => this.markDown(new Error('connection closed')));
    redis.on('reconnecting', () => this.markDown(new Error('reconnecting')));
    redis.on('end', () => this.stop());
  }

  /** False while Redis is known to be down: callers skip it instead of waiting on it. */
  get up(): boolean {
    return this.state !== 'down';
  }

  /** Runs `command` when Redis is up and records the outcome; rejects at once while it is down. */
  async run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.up) throw new RedisUnavailableError(this.options.name);
    try {
      const result = await command();
      this.failures = 0;
      return result;
    } catch (error) {
      if (error instanceof Error && error.name === 'ReplyError') this.failures = 0;
      else this.failed(error);
      throw error;
    }
  }

  /** A command failed without a reply from Redis (timed out, or the connection went). */
  failed(error: unknown): void {
    if (this.state === 'down') return;
    this.failures += 1;
    if (this.failures >= FAILURES_TO_OPEN) this.markDown(error);
  }

  /** No more log lines or probes (the client is being closed on purpose). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.probe);
    this.probe = undefined;
  }

  private markUp(): void {
    this.failures = 0;
    clearTimeout(this.probe);
    this.probe = undefined;
    const was = this.state;
    this.state = 'up';
    if (was === 'down' && !this.stopped) {
      this.options.logger.warn({ redis: this.options.name }, 'redis up');
    }
  }

  private markDown(error: unknown): void {
    if (this.stopped) return;
    this.scheduleProbe();
    if (this.state === 'down') return;
    this.state = 'down';
    this.options.logger.warn(
      { redis: this.options.name, err: error },
      'redis down: commands fail at once until it answers again',
    );
  }

  private scheduleProbe(): void {
    const interval = this.options.probeIntervalMs;
    if (this.probe || this.stopped || interval <= 0) return;
    this.probe = setTimeout(() => {
      this.probe = undefined;
      void this.probeOnce(interval);
    }, interval);
    this.probe.unref();
  }

  /** While the connection is open, a PING answered within the interval closes the circuit. */
  private async probeOnce(timeoutMs: number): Promise<void> {
    if (this.state !== 'down' || this.stopped) return;
    if (this.redis.status === 'ready') {
      const answered = await withTimeout(this.redis.ping(), timeoutMs).then(
        () => true,
        () => false,
      );
      if (answered && this.redis.status === 'ready') {
        this.markUp();
        return;
      }
    }
    if (this.state === 'down') this.scheduleProbe();
  }
}

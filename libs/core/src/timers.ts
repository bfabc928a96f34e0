/** Resolves after `ms` milliseconds (at once, on the next timer turn, for `ms` <= 0). */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, Math.max(0, ms)));
}

/** What `withTimeout` rejects with when the time runs out first. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * `promise`, or a TimeoutError with `message` once `ms` milliseconds pass without it settling. The
 * timer is cleared as soon as either side settles, so nothing is left holding the process open;
 * `promise` itself runs on (a late rejection of it is observed, never unhandled).
 */
export function withTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  message = `timed out after ${ms} ms`,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

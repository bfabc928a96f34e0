export interface EventuallyOptions {
  /** How long to keep trying before failing; 5 s by default. */
  readonly timeoutMs?: number;
  /** The pause between two tries; 25 ms by default. */
  readonly intervalMs?: number;
  /** What is awaited, for the error on time-out (such as "the api to stop accepting"). */
  readonly what?: string;
}

/** Calls `check` until it returns true; rejects after `timeoutMs`. */
export function eventually(
  check: () => boolean | Promise<boolean>,
  options?: EventuallyOptions,
): Promise<true>;
/** Calls `probe` until `accept` likes what it returns, and resolves with that value. */
export function eventually<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options?: EventuallyOptions,
): Promise<T>;
/**
 * A probe that throws counts as "not yet" and is tried again; the error on time-out names what was
 * awaited, the last value seen and the last error thrown.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  acceptOrOptions?: ((value: T) => boolean) | EventuallyOptions,
  maybeOptions: EventuallyOptions = {},
): Promise<T> {
  const accept =
    typeof acceptOrOptions === 'function' ? acceptOrOptions : (value: T) => value === true;
  const options = typeof acceptOrOptions === 'function' ? maybeOptions : (acceptOrOptions ?? {});
  const { timeoutMs = 5_000, intervalMs = 25, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = { value };
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (last ? `; last value ${show(last.value)}` : '') +
          (lastError === undefined
            ? ''
            : `; last error ${lastError instanceof Error ? lastError.message : show(lastError)}`),
      );
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A gate a handler waits at until the test opens it. */
export function gate(): { readonly wait: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((done) => (open = done));
  return { wait, open };
}

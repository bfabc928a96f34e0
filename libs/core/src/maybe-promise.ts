/** A value now, or later: what a cache that may answer from memory returns. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `next(value)` now when `value` is a value, after it settles when it is a promise (and `failed`
 * on a rejection, when given): a chain through a synchronous cache hit stays synchronous.
 */
export function thenMaybe<T, U>(
  value: MaybePromise<T>,
  next: (value: T) => U,
  failed?: (error: unknown) => U,
): MaybePromise<U> {
  return value instanceof Promise ? value.then(next, failed) : next(value);
}

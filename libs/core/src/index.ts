export { ERRORS } from './error-catalogue';
export type { ErrorCode } from './error-catalogue';
export { DomainError, MAX_LISTED_ERRORS, translateError, ValidationFailedError } from './errors';
export type { ErrorTranslator, FieldProblem } from './errors';
export { truncateIp } from './ip';
export { thenMaybe } from './maybe-promise';
export type { MaybePromise } from './maybe-promise';
export { sleep, TimeoutError, withTimeout } from './timers';

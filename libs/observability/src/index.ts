export { readiness } from './health';
export { HttpFront, requestIdOf } from './http-front';
export type { FrontHandler } from './http-front';
export { createHttpApp, httpFrontOf } from './http-server';
export type { HttpAppOptions } from './http-server';
export { createLogger, NestPinoLogger, ROOT_LOGGER } from './logger';
export type { CreateLoggerOptions, Logger } from './logger';
export { counter, histogram, hotCounter, HotHistogram, httpRequestDuration } from './metrics';
export type { HotCounter, HotHistogramChild } from './metrics';
export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
export {
  DomainError,
  MAX_LISTED_ERRORS,
  PROBLEM_CONTENT_TYPE,
  toProblem,
  translateError,
  ValidationFailedError,
} from './problem';
export type { ErrorTranslator, FieldProblem, ProblemDocument } from './problem';
export { problemFor, ProblemDetailsFilter, sendProblem } from './problem.filter';
export { runService } from './service-main';
export { StartupError } from './startup-error';
export type { RunningService, ServiceMain } from './service-main';

export { createLogger, NestPinoLogger, ROOT_LOGGER } from './logger';
export type { CreateLoggerOptions, Logger } from './logger';
export {
  counter,
  gauge,
  histogram,
  hotCounter,
  HotHistogram,
  httpRequestDuration,
} from './metrics';
export type { HotCounter, HotHistogramChild } from './metrics';
export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
export { runService } from './service-main';
export { StartupError } from './startup-error';
export type { RunningService, ServiceMain } from './service-main';

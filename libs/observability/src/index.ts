export { createLogger, NestPinoLogger, ROOT_LOGGER } from './logger';
export type { Logger } from './logger';
export { counter, gauge, histogram, hotCounter, httpRequestDuration } from './metrics';
export type { HotCounter } from './metrics';
export { ObservabilityModule } from './observability.module';
export { runService } from './service-main';
export { StartupError } from './startup-error';

export {
  CLICK_LIMITS,
  CLICK_PATTERN,
  clickVisitor,
  createClickEvent,
  validateClickEvent,
} from './click-event';
export type { ClickEvent, ClickValidation, ClickVisitor } from './click-event';
export { IpAnonymizer } from './ip-anonymizer';
export type { IpAnonymizerOptions, IpMode } from './ip-anonymizer';
export { clickMetrics } from './metrics';
export { ClickPublisher } from './publisher';
export type { ClickPublisherOptions, ClickTransport } from './publisher';
export { RedisStreamsClient, STREAM_FIELDS } from './redis-streams.client';
export type { RedisStreamsClientOptions } from './redis-streams.client';
export { RedisStreamsContext, RedisStreamsServer } from './redis-streams.server';
export type { RedisStreamsServerOptions } from './redis-streams.server';
export {
  ClickServerRMQ,
  clickQueueArguments,
  declareClickQueues,
  RmqConfirmPublisher,
  sampleQueueDepth,
  settleClick,
} from './rmq';
export type { ClickQueueOptions, RmqConfirmPublisherOptions } from './rmq';
export { uuidv7, uuidv7Time, UUID_V7_PATTERN } from './uuidv7';

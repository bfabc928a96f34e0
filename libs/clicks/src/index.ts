export { CLICK_PATTERN, clickVisitor, createClickEvent, validateClickEvent } from './click-event';
export type { ClickEvent, ClickVisitor } from './click-event';
export { clickMetrics } from './metrics';
export type { ClickTransport } from './publisher';
export { RedisStreamsClient, STREAM_FIELDS } from './redis-streams.client';
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
export type { ClickQueueOptions } from './rmq';
export { brokerTransport, ClickRecording } from './click-recording';

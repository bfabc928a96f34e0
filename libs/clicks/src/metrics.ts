import { counter, gauge, histogram } from '@app/observability';

/** Metrics of the click pipeline, shared by the publisher (api) and the consumer (logs). */
export const clickMetrics = {
  published: () =>
    counter({ name: 'snip_clicks_published_total', help: 'Click events handed to the broker' }),
  dropped: () =>
    counter({
      name: 'snip_clicks_dropped_total',
      help: 'Click events the publisher dropped (buffer full, or still unsent at shutdown)',
      labelNames: ['reason'] as const,
    }),
  publishFailures: () =>
    counter({
      name: 'snip_clicks_publish_failures_total',
      help: 'Batches the broker refused or timed out on (retried)',
    }),
  buffered: () =>
    gauge({ name: 'snip_clicks_buffered', help: 'Click events waiting in the publisher buffer' }),
  consumed: () =>
    counter({ name: 'snip_clicks_consumed_total', help: 'Click events taken from the transport' }),
  inserted: () => counter({ name: 'snip_clicks_inserted_total', help: 'Click rows newly stored' }),
  duplicates: () =>
    counter({
      name: 'snip_clicks_duplicates_total',
      help: 'Click events already stored (redeliveries), ignored',
    }),
  expired: () =>
    counter({
      name: 'snip_clicks_expired_total',
      help: 'Click events older than the retention window (CLICKS_RETENTION_DAYS), acknowledged unstored',
    }),
  partitionsDropped: () =>
    counter({
      name: 'snip_clicks_partitions_dropped_total',
      help: 'Day partitions of raw clicks dropped by retention, by table',
      labelNames: ['table'] as const,
    }),
  deadLettered: () =>
    counter({
      name: 'snip_clicks_dead_lettered_total',
      help: 'Click events sent to the dead letter, by reason',
      labelNames: ['reason'] as const,
    }),
  batchSize: () =>
    histogram({
      name: 'snip_clicks_batch_size',
      help: 'Events per stored batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    }),
  insertSeconds: () =>
    histogram({
      name: 'snip_clicks_insert_duration_seconds',
      help: 'Time to store one batch (clicks and rollups, one statement)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
  storeFailures: () =>
    counter({
      name: 'snip_clicks_store_failures_total',
      help: 'Failed attempts to store a batch (retried)',
    }),
  lag: () =>
    gauge({
      name: 'snip_clicks_consumer_lag',
      help: 'Entries not yet delivered to the group (stream) or ready in the queue',
      labelNames: ['transport'] as const,
    }),
  pending: () =>
    gauge({
      name: 'snip_clicks_consumer_pending',
      help: 'Entries delivered but not acknowledged (stream PEL, or unacked messages)',
      labelNames: ['transport'] as const,
    }),
  streamLength: () =>
    gauge({ name: 'snip_clicks_stream_length', help: 'XLEN of the click stream' }),
};

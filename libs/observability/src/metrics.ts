import { Counter, Histogram, register, type CounterConfiguration } from 'prom-client';

/**
 * Returns the metric registered under `name` in the default registry, creating it the first time.
 * Several Nest applications in one process (tests do this) then share one series instead of
 * failing on "already registered".
 */
export function counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  return (register.getSingleMetric(config.name) as Counter<T> | undefined) ?? new Counter(config);
}

export function histogram<T extends string>(
  config: ConstructorParameters<typeof Histogram<T>>[0],
): Histogram<T> {
  return (
    (register.getSingleMetric(config.name) as Histogram<T> | undefined) ?? new Histogram<T>(config)
  );
}

export const httpRequestDuration = (): Histogram<'method' | 'route' | 'status_code'> =>
  histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

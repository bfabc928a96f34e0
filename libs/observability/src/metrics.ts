import {
  Counter,
  Gauge,
  Histogram,
  register,
  type CounterConfiguration,
  type LabelValues,
  type Metric,
} from 'prom-client';

/**
 * Counts made on the request path. prom-client validates and hashes the label set on every update
 * of a labelled metric, about a microsecond each, and a redirect makes three (docs/decisions.md
 * #18). A hot child is a plain number instead, folded into its prom-client counter whenever the
 * registry is read (the counter's collect step), so every scrape sees every count made before it.
 */
export interface HotCounter {
  inc(by?: number): void;
}

interface HotChild extends HotCounter {
  readonly labels: LabelValues<string>;
  pending: number;
}

const hotChildren = new WeakMap<object, HotChild[]>();

/**
 * Returns the counter registered under `name` in the default registry, creating it the first time.
 * Several Nest applications in one process (tests do this) then share one series instead of
 * failing on "already registered".
 */
export function counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  const existing = register.getSingleMetric(config.name) as Counter<T> | undefined;
  if (existing) return existing;
  const collect = config.collect;
  const created: Counter<T> = new Counter<T>({
    ...config,
    collect() {
      for (const child of hotChildren.get(created) ?? []) {
        if (child.pending === 0) continue;
        const pending = child.pending;
        child.pending = 0;
        created.inc(child.labels as LabelValues<T>, pending);
      }
      return collect?.call(this);
    },
  });
  hotChildren.set(created, []);
  return created;
}

/** A child of `metric` (made by `counter`) for `labels`, updated without prom-client's per-call work. */
export function hotCounter<T extends string>(
  metric: Counter<T>,
  labels: LabelValues<T> = {},
): HotCounter {
  const children = hotChildren.get(metric);
  if (!children) throw new Error('hotCounter: the counter was not made by counter()');
  const child: HotChild = {
    labels,
    pending: 0,
    inc(by = 1) {
      this.pending += by;
    },
  };
  children.push(child);
  return child;
}

export function histogram<T extends string>(
  config: ConstructorParameters<typeof Histogram<T>>[0],
): Histogram<T> {
  return (
    (register.getSingleMetric(config.name) as Histogram<T> | undefined) ?? new Histogram<T>(config)
  );
}

/** The gauge registered under `name` in the default registry, created the first time (as `counter`). */
export function gauge<T extends string>(
  config: ConstructorParameters<typeof Gauge<T>>[0],
): Gauge<T> {
  return (register.getSingleMetric(config.name) as Gauge<T> | undefined) ?? new Gauge<T>(config);
}

export interface HotHistogramChild {
  observe(value: number): void;
}

interface HistogramSeries<T extends string> extends HotHistogramChild {
  readonly labels: Record<T, string>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the request path: each label set is a pre-bound series whose
 * `observe` is a bucket search and three additions. It registers in prom-client's default registry
 * and exposes the same series (`_bucket` with `le`, `_sum`, `_count`) as prom-client's Histogram,
 * whose `observe` validates and hashes the label set on every call (see HotCounter).
 */
export class HotHistogram<T extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries<T>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly T[],
    buckets: readonly number[],
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b);
    register.registerMetric(this as unknown as Metric);
  }

  /** The series of `values` (in `labelNames` order); made once, then found by key. */
  labels(...values: string[]): HotHistogramChild {
    const key = values.join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? '']));
      const bounds = this.bounds;
      series = {
        labels: labels as Record<T, string>,
        counts: new Float64Array(bounds.length),
        sum: 0,
        count: 0,
        observe(value: number) {
          for (let i = 0; i < bounds.length; i++) {
            if (value <= bounds[i]!) {
              this.counts[i]! += 1;
              break;
            }
          }
          this.sum += value;
          this.count += 1;
        },
      };
      this.series.set(key, series);
    }
    return series;
  }

  /** What prom-client's registry reads, in the shape of its own histograms. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    const values = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({
          labels: { ...series.labels, le: this.bounds[i]! },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push(
        {
          labels: { ...series.labels, le: '+Inf' },
          value: series.count,
          metricName: `${this.name}_bucket`,
        },
        { labels: series.labels, value: series.sum, metricName: `${this.name}_sum` },
        { labels: series.labels, value: series.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

/** Request durations by method, route template and status code (see HttpFront.observe). */
export const httpRequestDuration = (): HotHistogram<'method' | 'route' | 'status_code'> =>
  (register.getSingleMetric('http_request_duration_seconds') as unknown as
    HotHistogram<'method' | 'route' | 'status_code'> | undefined) ??
  new HotHistogram(
    'http_request_duration_seconds',
    'HTTP request duration by method, route template and status code',
    ['method', 'route', 'status_code'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );

import { Counter, Registry, type Metric } from 'prom-client';

/**
 * What the hot metrics (metrics.ts, decision 18) rely on inside prom-client, pinned to an exact
 * version in package.json (decision 30): `HotHistogram` is no prom-client metric but an object of
 * the same shape registered in the registry, and `counter()` folds its hot children in from the
 * counter's `collect` step. An upgrade that changes either fails here, not on a /metrics scrape.
 */

/** The smallest object HotHistogram is to the registry: name, help, type, get() and reset(). */
function duckMetric() {
  return {
    name: 'duck_seconds',
    help: 'a metric of our own',
    type: 'histogram',
    aggregator: 'sum',
    reads: 0,
    resets: 0,
    get() {
      this.reads++;
      const labels = { route: '/:code' };
      return Promise.resolve({
        name: this.name,
        help: this.help,
        type: this.type,
        aggregator: this.aggregator,
        values: [
          { labels: { ...labels, le: 0.5 }, value: this.reads, metricName: 'duck_seconds_bucket' },
          { labels: { ...labels, le: '+Inf' }, value: 2, metricName: 'duck_seconds_bucket' },
          { labels, value: 1.25, metricName: 'duck_seconds_sum' },
          { labels, value: 2, metricName: 'duck_seconds_count' },
        ],
      });
    },
    reset() {
      this.resets++;
    },
  };
}

describe('the prom-client internals the hot metrics rely on', () => {
  it('registers any object of the shape of a metric, and returns that very object by its name', () => {
    const registry = new Registry();
    const metric = duckMetric();
    registry.registerMetric(metric as unknown as Metric);
    expect(registry.getSingleMetric('duck_seconds')).toBe(metric);
  });

  it('writes it from what get() answers, called afresh on every read: metricName, labels in order', async () => {
    const registry = new Registry();
    const metric = duckMetric();
    registry.registerMetric(metric as unknown as Metric);
    const expected = (reads: number) =>
      [
        '# HELP duck_seconds a metric of our own',
        '# TYPE duck_seconds histogram',
        `duck_seconds_bucket{route="/:code",le="0.5"} ${reads}`,
        'duck_seconds_bucket{route="/:code",le="+Inf"} 2',
        'duck_seconds_sum{route="/:code"} 1.25',
        'duck_seconds_count{route="/:code"} 2',
        '',
      ].join('\n');
    expect(await registry.metrics()).toBe(expected(1));
    expect(await registry.metrics()).toBe(expected(2));
  });

  it('calls its reset() on resetMetrics()', () => {
    const registry = new Registry();
    const metric = duckMetric();
    registry.registerMetric(metric as unknown as Metric);
    registry.resetMetrics();
    expect(metric.resets).toBe(1);
  });

  it("runs a counter's collect step on the counter itself on every read, before its values are taken", async () => {
    const registry = new Registry();
    let pending = 3;
    const total = new Counter({
      name: 'collected_total',
      help: 'h',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.inc({ kind: 'hot' }, pending);
        pending = 0;
      },
    });
    expect(await registry.metrics()).toContain('collected_total{kind="hot"} 3');
    pending = 2;
    expect((await total.get()).values).toEqual([
      expect.objectContaining({ labels: { kind: 'hot' }, value: 5 }),
    ]);
  });
});

import { Counter, Histogram, register } from 'prom-client';
import {
  counter,
  gauge,
  histogram,
  hotCounter,
  HotHistogram,
  httpRequestDuration,
} from './metrics';

/** Every metric name a test registered, removed again after it. */
const registered: string[] = [];
let sequence = 0;
const uniqueName = (prefix: string): string => {
  const name = `${prefix}_${process.pid}_${++sequence}`;
  registered.push(name);
  return name;
};

afterEach(() => {
  for (const name of registered.splice(0)) register.removeSingleMetric(name);
});

/** The value of the sample of `name` whose labels are exactly `labels` (undefined if none). */
async function sampleOf(
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = register.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return values.find((v) => JSON.stringify(Object.entries(v.labels).sort()) === wanted)?.value;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

/** A sample line's label pairs, sorted: `a="1",b="2"`. */
const sortedLabels = (text: string): string =>
  [...text.matchAll(LABEL)]
    .map(([, k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');

/**
 * The value of the sample `name` with exactly `labels` (in any order) in the registry's exposition
 * text, undefined if there is none.
 */
async function exposed(
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const wanted = sortedLabels(
    Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(','),
  );
  const text = await register.metrics();
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (match?.[1] === name && sortedLabels(match[2] ?? '') === wanted) return Number(match[3]);
  }
  return undefined;
}

describe('counter', () => {
  it('returns the counter already registered under the name instead of failing', () => {
    const name = uniqueName('test_counter_shared');
    const first = counter({ name, help: 'h' });
    expect(counter({ name, help: 'h' })).toBe(first);
    expect(register.getSingleMetric(name)).toBe(first);
  });

  it('still runs the collect step of its configuration, on the counter itself', async () => {
    const name = uniqueName('test_counter_collect');
    let calls = 0;
    const total = counter({
      name,
      help: 'h',
      labelNames: ['kind'],
      collect() {
        calls++;
        this.inc({ kind: 'collected' });
      },
    });
    hotCounter(total, { kind: 'hot' }).inc(3);
    expect(await exposed(name, { kind: 'collected' })).toBe(1);
    expect(calls).toBe(1);
    expect(await sampleOf(name, { kind: 'hot' })).toBe(3);
    expect(calls).toBe(2);
  });
});

describe('gauge and histogram', () => {
  it('return the metric already registered under the name instead of failing', async () => {
    const gaugeName = uniqueName('test_gauge_shared');
    const first = gauge({ name: gaugeName, help: 'h', labelNames: ['transport'] });
    const second = gauge({ name: gaugeName, help: 'h', labelNames: ['transport'] });
    expect(second).toBe(first);
    first.set({ transport: 'rmq' }, 4);
    second.set({ transport: 'rmq' }, 5);
    expect(await sampleOf(gaugeName, { transport: 'rmq' })).toBe(5);
    const histogramName = uniqueName('test_histogram_shared');
    const made = histogram({ name: histogramName, help: 'h', buckets: [1] });
    expect(histogram({ name: histogramName, help: 'h', buckets: [1] })).toBe(made);
  });
});

describe('hotCounter', () => {
  it('makes its increments visible when the registry is read', async () => {
    const name = uniqueName('test_hot_visible');
    const total = counter({ name, help: 'h', labelNames: ['outcome'] });
    const hot = hotCounter(total, { outcome: 'redirected' });
    hot.inc();
    hot.inc(2);
    expect(await exposed(name, { outcome: 'redirected' })).toBe(3);
    expect(await sampleOf(name, { outcome: 'redirected' })).toBe(3);
  });

  it('loses nothing when interleaved with direct increments of the same series', async () => {
    const name = uniqueName('test_hot_interleaved');
    const total = counter({ name, help: 'h', labelNames: ['outcome'] });
    const hot = hotCounter(total, { outcome: 'redirected' });
    hot.inc();
    total.inc({ outcome: 'redirected' });
    hot.inc(4);
    total.labels('redirected').inc(10);
    hot.inc();
    expect(await sampleOf(name, { outcome: 'redirected' })).toBe(17);
  });

  it('counts each increment once over several reads', async () => {
    const name = uniqueName('test_hot_reads');
    const total = counter({ name, help: 'h', labelNames: ['outcome'] });
    const hot = hotCounter(total, { outcome: 'redirected' });
    hot.inc(2);
    expect(await sampleOf(name, { outcome: 'redirected' })).toBe(2);
    // A second read without new counts sees the same total, not the pending counts again.
    expect(await sampleOf(name, { outcome: 'redirected' })).toBe(2);
    expect(await exposed(name, { outcome: 'redirected' })).toBe(2);
    hot.inc();
    total.inc({ outcome: 'redirected' }, 3);
    expect(await exposed(name, { outcome: 'redirected' })).toBe(6);
    expect(await sampleOf(name, { outcome: 'redirected' })).toBe(6);
  });

  it('keeps label sets apart, and adds up two hot children of the same set', async () => {
    const name = uniqueName('test_hot_labels');
    const total = counter({ name, help: 'h', labelNames: ['outcome', 'method'] });
    const getOk = hotCounter(total, { outcome: 'ok', method: 'GET' });
    const headOk = hotCounter(total, { outcome: 'ok', method: 'HEAD' });
    const getOkAgain = hotCounter(total, { outcome: 'ok', method: 'GET' });
    const getMissing = hotCounter(total, { outcome: 'missing', method: 'GET' });
    getOk.inc(2);
    headOk.inc();
    getOkAgain.inc(5);
    total.inc({ outcome: 'missing', method: 'HEAD' });

    const { values } = await total.get();
    const byLabels = Object.fromEntries(
      values.map((v) => [`${String(v.labels.outcome)} ${String(v.labels.method)}`, v.value]),
    );
    expect(byLabels).toEqual({ 'ok GET': 7, 'ok HEAD': 1, 'missing HEAD': 1 });

    getMissing.inc();
    expect(await sampleOf(name, { outcome: 'missing', method: 'GET' })).toBe(1);
    expect(await sampleOf(name, { outcome: 'ok', method: 'GET' })).toBe(7);
  });

  it('works on a counter without labels', async () => {
    const name = uniqueName('test_hot_unlabelled');
    const hot = hotCounter(counter({ name, help: 'h' }));
    hot.inc();
    hot.inc(0.5);
    expect(await exposed(name)).toBe(1.5);
  });

  it('refuses a counter not made by counter()', () => {
    const name = uniqueName('test_hot_foreign');
    const plain = new Counter({ name, help: 'h', labelNames: ['outcome'] });
    expect(() => hotCounter(plain, { outcome: 'x' })).toThrow(/not made by counter\(\)/);
  });
});

interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

/**
 * The exposition text of one metric as a sorted list of lines, `from` renamed `to` and each sample
 * line's label pairs sorted, so that two texts differing only in label order compare equal.
 */
function normalised(text: string, from: string, to: string): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    if (raw.startsWith('#')) {
      lines.push(raw.replace(` ${from} `, ` ${to} `));
      continue;
    }
    const match = SAMPLE.exec(raw);
    if (!match) throw new Error(`not a sample line: ${raw}`);
    const sample: Sample = {
      name: match[1]!.replace(from, to),
      labels: sortedLabels(match[2] ?? ''),
      value: Number(match[3]),
    };
    lines.push(`${sample.name}{${sample.labels}} ${sample.value}`);
  }
  return lines.sort();
}

describe('HotHistogram', () => {
  const buckets = [0.001, 0.005, 0.01, 0.1, 1, 2.5];
  const observations: [string, string, number][] = [
    ['GET', '/:code', 0],
    ['GET', '/:code', 0.005], // exactly on a bound: counted in that bucket
    ['GET', '/:code', 0.0049],
    ['GET', '/:code', 0.0051],
    ['GET', '/:code', 3], // above the largest bound: only in +Inf
    ['GET', '/:code', 2.5],
    ['HEAD', '/:code', 0.02],
    ['HEAD', '/:code', 0.001],
    ['POST', '/api/v1/links', 42],
    ['POST', '/api/v1/links', 0.3],
  ];

  it('exposes the same series as prom-client Histogram for the same observations', async () => {
    const hotName = uniqueName('test_hot_histogram');
    const refName = uniqueName('test_ref_histogram');
    const hot = new HotHistogram(hotName, 'Durations', ['method', 'route'], buckets);
    const ref = new Histogram({
      name: refName,
      help: 'Durations',
      labelNames: ['method', 'route'],
      buckets,
    });
    for (const [method, route, value] of observations) {
      hot.labels(method, route).observe(value);
      ref.observe({ method, route }, value);
    }

    const hotText = await register.getSingleMetricAsString(hotName);
    const refText = await register.getSingleMetricAsString(refName);
    const hotLines = normalised(hotText, hotName, 'm');
    expect(hotLines).toEqual(normalised(refText, refName, 'm'));
    // The comparison is not vacuous: every series and bound is there.
    expect(hotLines).toContain('# TYPE m histogram');
    expect(hotLines).toContain('m_bucket{le="+Inf",method="GET",route="/:code"} 6');
    expect(hotLines).toContain('m_bucket{le="0.005",method="GET",route="/:code"} 3');
    expect(hotLines).toContain('m_bucket{le="2.5",method="GET",route="/:code"} 5');
    expect(hotLines).toContain('m_bucket{le="0.001",method="GET",route="/:code"} 1');
    expect(hotLines).toContain('m_count{method="POST",route="/api/v1/links"} 2');
    expect(hotLines).toContain('m_bucket{le="1",method="POST",route="/api/v1/links"} 1');
    expect(hotLines.filter((l) => l.startsWith('m_bucket'))).toHaveLength(3 * (buckets.length + 1));
  });

  it('keeps two label sets apart', async () => {
    const name = uniqueName('test_hot_histogram_sets');
    const hot = new HotHistogram(name, 'h', ['method'], [1]);
    const get = hot.labels('GET');
    get.observe(0.5);
    get.observe(2);
    hot.labels('HEAD').observe(0.25);
    // The same label values find the same series again.
    hot.labels('GET').observe(0.75);

    const lines = normalised(await register.getSingleMetricAsString(name), name, 'm');
    expect(lines.filter((l) => !l.startsWith('#'))).toEqual(
      [
        'm_bucket{le="1",method="GET"} 2',
        'm_bucket{le="+Inf",method="GET"} 3',
        'm_sum{method="GET"} 3.25',
        'm_count{method="GET"} 3',
        'm_bucket{le="1",method="HEAD"} 1',
        'm_bucket{le="+Inf",method="HEAD"} 1',
        'm_sum{method="HEAD"} 0.25',
        'm_count{method="HEAD"} 1',
      ].sort(),
    );
  });

  it('sorts its buckets as given in any order', async () => {
    const sortedName = uniqueName('test_hot_histogram_sorted');
    const shuffledName = uniqueName('test_hot_histogram_shuffled');
    const sorted = new HotHistogram(sortedName, 'h', ['m'], [0.1, 1, 10]);
    const shuffled = new HotHistogram(shuffledName, 'h', ['m'], [10, 0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 5, 50]) {
      sorted.labels('x').observe(value);
      shuffled.labels('x').observe(value);
    }
    expect(
      normalised(await register.getSingleMetricAsString(shuffledName), shuffledName, 'm'),
    ).toEqual(normalised(await register.getSingleMetricAsString(sortedName), sortedName, 'm'));
    expect(await exposed(`${shuffledName}_bucket`, { le: '1', m: 'x' })).toBe(3);
  });

  it('zeroes every series on reset(), and counts again from zero afterwards', async () => {
    const name = uniqueName('test_hot_histogram_reset');
    const hot = new HotHistogram(name, 'h', ['method'], [0.1, 1]);
    const get = hot.labels('GET');
    get.observe(0.05);
    get.observe(5);
    hot.labels('HEAD').observe(0.5);
    expect(await exposed(`${name}_count`, { method: 'GET' })).toBe(2);

    hot.reset();
    const samples = normalised(await register.getSingleMetricAsString(name), name, 'm').filter(
      (l) => !l.startsWith('#'),
    );
    expect(samples.length).toBeGreaterThan(0);
    for (const line of samples) expect(line).toMatch(/ 0$/);

    get.observe(0.5);
    expect(await exposed(`${name}_count`, { method: 'GET' })).toBe(1);
    expect(await exposed(`${name}_sum`, { method: 'GET' })).toBe(0.5);
    expect(await exposed(`${name}_bucket`, { le: '0.1', method: 'GET' })).toBe(0);
    expect(await exposed(`${name}_bucket`, { le: '1', method: 'GET' })).toBe(1);
    expect(await exposed(`${name}_count`, { method: 'HEAD' })).toBe(0);
  });

  it('is shared as http_request_duration_seconds', () => {
    registered.push('http_request_duration_seconds');
    const first = httpRequestDuration();
    expect(first).toBeInstanceOf(HotHistogram);
    expect(httpRequestDuration()).toBe(first);
    expect(register.getSingleMetric('http_request_duration_seconds')).toBe(first);
  });
});

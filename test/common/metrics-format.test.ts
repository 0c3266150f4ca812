// The registry writes the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format) without a
// dependency (common/metrics.ts). Checked two ways: byte for byte against prom-client (what every
// process used before) for the same metrics, and line by line against the format's grammar; its
// process metrics carry prom-client's names and types.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, OrbitfedError } from '../../common/index.ts';
import { SERIES_PER_METRIC_MAX } from '../../common/metrics.ts';

/** The same metrics, made and fed the same way, in ours and in prom-client. */
async function bothRender(): Promise<{ ours: string; theirs: string }> {
  const ours = new MetricsRegistry();
  const theirs = new Registry();
  const oursJobs = ours.counter('orbitfed_jobs_total', 'Jobs, by state.\nSecond line with a \\ backslash.', ['state', 'reason']);
  const theirsJobs = new Counter({ name: 'orbitfed_jobs_total', help: 'Jobs, by state.\nSecond line with a \\ backslash.', labelNames: ['state', 'reason'], registers: [theirs] });
  for (const [labels, value] of [[{ state: 'placed' }, 1], [{ state: 'failed', reason: 'say "no"\\\n' }, 2], [{ state: 'placed' }, 0.5]] as const) {
    oursJobs.inc(labels, value);
    theirsJobs.inc(labels, value);
  }
  ours.counter('orbitfed_untouched_total', 'Never counted.');
  new Counter({ name: 'orbitfed_untouched_total', help: 'Never counted.', registers: [theirs] });
  ours.counter('orbitfed_default_inc_total', 'Counted by one.').inc();
  new Counter({ name: 'orbitfed_default_inc_total', help: 'Counted by one.', registers: [theirs] }).inc();
  ours.gauge('orbitfed_labelled_unset', 'A labelled gauge never set.', ['space']);
  new Gauge({ name: 'orbitfed_labelled_unset', help: 'A labelled gauge never set.', labelNames: ['space'], registers: [theirs] });
  const oursGauge = ours.gauge('orbitfed_queue_bytes', 'Bytes queued.', ['from', 'to']);
  const theirsGauge = new Gauge({ name: 'orbitfed_queue_bytes', help: 'Bytes queued.', labelNames: ['from', 'to'], registers: [theirs] });
  for (const [labels, value] of [[{ from: '1', to: '2' }, 12], [{ from: '2', to: '1' }, -3.25], [{ from: '1', to: '2' }, 1e21], [{ from: '3', to: '4' }, Number.POSITIVE_INFINITY], [{ from: '4', to: '3' }, Number.NEGATIVE_INFINITY]] as const) {
    oursGauge.set(labels, value);
    theirsGauge.set(labels, value);
  }
  ours.gauge('orbitfed_plain', 'Unlabelled gauge.').set(0.000001);
  new Gauge({ name: 'orbitfed_plain', help: 'Unlabelled gauge.', registers: [theirs] }).set(0.000001);
  const buckets = [0.005, 0.1, 1, 10];
  const oursSeconds = ours.histogram('orbitfed_request_seconds', 'Request durations.', buckets, ['method', 'status']);
  const theirsSeconds = new Histogram({ name: 'orbitfed_request_seconds', help: 'Request durations.', buckets, labelNames: ['method', 'status'], registers: [theirs] });
  for (const [labels, value] of [[{ method: 'GET', status: '200' }, 0.005], [{ method: 'GET', status: '200' }, 0.2], [{ method: 'POST', status: '201' }, 99], [{ method: 'GET', status: '200' }, 0]] as const) {
    oursSeconds.observe(labels, value);
    theirsSeconds.observe(labels, value);
  }
  ours.histogram('orbitfed_empty_seconds', 'Never observed.', [1, 2]);
  new Histogram({ name: 'orbitfed_empty_seconds', help: 'Never observed.', buckets: [1, 2], registers: [theirs] });
  ours.histogram('orbitfed_sizes_bytes', 'Unlabelled.', [100, 1000]).observe(150);
  new Histogram({ name: 'orbitfed_sizes_bytes', help: 'Unlabelled.', buckets: [100, 1000], registers: [theirs] }).observe(150);
  return { ours: await ours.render(), theirs: await theirs.metrics() };
}

interface ParsedSample { readonly name: string; readonly labels: Record<string, string>; readonly value: number }

/** A strict reader of the text format 0.0.4: throws at the first line that does not follow it. */
function parseExposition(text: string): { types: Map<string, string>; samples: ParsedSample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: ParsedSample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelPair = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const sampleLine = new RegExp(`^(${name})(?:\\{(${labelPair}(?:,${labelPair})*)?\\})? (\\S+)$`);
  const value = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const help = new RegExp(`^# HELP (${name}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help !== null) {
      expect(helped.has(help[1]!), `HELP twice for ${help[1]}`).toBe(false);
      expect(help[2]!.replace(/\\[\\n]/g, ''), 'HELP escapes only \\ and newlines').not.toContain('\\');
      helped.add(help[1]!);
      continue;
    }
    if (type !== null) {
      expect(types.has(type[1]!), `TYPE twice for ${type[1]}`).toBe(false);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = sampleLine.exec(line);
    if (sample === null) throw new Error(`not a line of the text format: ${JSON.stringify(line)}`);
    if (!value.test(sample[3]!)) throw new Error(`not a sample value: ${JSON.stringify(line)}`);
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    const family = [sample[1]!, sample[1]!.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    expect(family, `sample ${sample[1]} before its TYPE`).toBeDefined();
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]!.replace('Inf', 'Infinity')) });
  }
  return { types, samples };
}

describe('the exposition text', () => {
  it('is byte for byte what prom-client writes for the same counters, gauges and histograms', async () => {
    const { ours, theirs } = await bothRender();
    expect(ours).toBe(theirs);
  });

  it('follows the text format 0.0.4 line by line, histograms cumulative up to +Inf = count', async () => {
    const registry = new MetricsRegistry().withProcessMetrics('orbitfed_', { eventLoopSampleMs: 10 });
    registry.histogram('orbitfed_request_seconds', 'Request durations.', [0.1, 1], ['route']).observe({ route: '/v1/"jobs"' }, 0.5);
    const { types, samples } = parseExposition(await registry.render());
    const buckets = samples.filter((s) => s.name === 'orbitfed_request_seconds_bucket').map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([['0.1', 0], ['1', 1], ['+Inf', 1]]);
    expect(samples.find((s) => s.name === 'orbitfed_request_seconds_count')).toMatchObject({ labels: { route: '/v1/\\"jobs\\"' }, value: 1 });
    expect(types.get('orbitfed_process_cpu_seconds_total')).toBe('counter');
    expect(parseExposition((await bothRender()).ours).samples.length).toBeGreaterThan(10);
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('reports process metrics under prom-client\'s names and types, with plausible values', async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs, prefix: 'orbitfed_' });
    // Types only: prom-client writes NaN as "Nan", which the format does not have.
    const theirTypes = new Map([...(await theirs.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    theirs.clear();
    const { types, samples } = parseExposition(await new MetricsRegistry().withProcessMetrics().render());
    for (const [name, type] of types) expect([name, theirTypes.get(name)]).toEqual([name, type]);
    const value = (name: string): number => samples.find((s) => s.name === name)!.value;
    expect(value('orbitfed_process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(value('orbitfed_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('orbitfed_process_open_fds')).toBeGreaterThan(2);
    expect(value('orbitfed_process_start_time_seconds')).toBeGreaterThan(1.7e9);
    expect(value('orbitfed_nodejs_heap_size_used_bytes')).toBeGreaterThan(1024 * 1024);
    expect(value('orbitfed_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(samples.find((s) => s.name === 'orbitfed_nodejs_version_info')!.labels.version).toBe(process.version);
  });
});

describe('the registry refuses', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(OrbitfedError);
      return `${(error as OrbitfedError).code}: ${(error as Error).message}`;
    }
    return undefined;
  };

  it('a label the metric was not declared with, naming the metric and its labels', () => {
    const counter = new MetricsRegistry().counter('orbitfed_jobs_total', 'Jobs.', ['state']);
    expect(code(() => counter.inc({ stat: 'placed' }))).toBe('ORBITFED_METRICS_LABEL: metric orbitfed_jobs_total has no label "stat" (its labels: state)');
  });

  it('a counter going down, and values that are not numbers', () => {
    const registry = new MetricsRegistry();
    expect(code(() => registry.counter('orbitfed_a_total', 'A.').inc({}, -1))).toBe('ORBITFED_METRICS_VALUE: counter orbitfed_a_total cannot decrease (inc by -1)');
    expect(code(() => registry.gauge('orbitfed_b', 'B.').set(Number.NaN))).toBe('ORBITFED_METRICS_VALUE: metric orbitfed_b: NaN is not a number');
    expect(code(() => registry.histogram('orbitfed_c', 'C.', [1]).observe({}, '7' as unknown as number))).toBe('ORBITFED_METRICS_VALUE: metric orbitfed_c: 7 is not a number');
  });

  it('bad names, a name registered twice, bad buckets', () => {
    const registry = new MetricsRegistry();
    registry.gauge('orbitfed_x', 'X.');
    expect(code(() => registry.gauge('orbitfed_x', 'X again.'))).toBe('ORBITFED_METRICS_OPTIONS: metric orbitfed_x is registered already');
    expect(code(() => registry.gauge('9lives', 'Bad.'))).toContain("metric name '9lives' is not");
    expect(code(() => registry.gauge('orbitfed_y', 'Y.', ['a-b']))).toContain("label name 'a-b' is not");
    expect(code(() => registry.gauge('orbitfed_z', 'Z.', ['__name']))).toContain("label name '__name'");
    expect(code(() => registry.histogram('orbitfed_h', 'H.', [1, 1]))).toBe('ORBITFED_METRICS_OPTIONS: histogram orbitfed_h: buckets must be finite and strictly ascending (got 1, 1)');
    expect(code(() => registry.histogram('orbitfed_i', 'I.', []))).toContain('buckets must be finite');
    expect(code(() => registry.histogram('orbitfed_j', 'J.', [1], ['le']))).toContain('"le" is reserved');
    expect(code(() => new MetricsRegistry().withProcessMetrics('bad-prefix_'))).toContain("metric prefix 'bad-prefix_'");
  });

  it(`label combinations beyond ${SERIES_PER_METRIC_MAX} per metric, counting what it did not record`, async () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('orbitfed_peers_total', 'By peer.', ['peer']);
    for (let i = 0; i < SERIES_PER_METRIC_MAX + 3; i++) counter.inc({ peer: String(i) });
    counter.inc({ peer: '0' });
    const text = await registry.render();
    expect(text).toContain('orbitfed_peers_total{peer="0"} 2');
    expect(text).not.toContain(`peer="${SERIES_PER_METRIC_MAX}"`);
    expect(text).toContain('metrics_series_dropped_total 3');
  });
});

// Each long-running process owns one registry and serves it at /metrics in the Prometheus text
// exposition format 0.0.4 (ARCHITECTURE: Observability;
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format). Our own, with no
// dependency: prom-client with its process metrics was ~6 MB resident in the orbital agent, whose
// budget is 64 MB (orbital/README.md, "Memory and start-up"); what we use of it — counters, gauges,
// histograms with labels, a few process metrics — is this file and common/metrics-process.ts. The
// output is checked against prom-client's for the same metrics (test/common/metrics-format.test.ts).
import { OrbitfedError } from './errors.ts';
import { addProcessMetrics } from './metrics-process.ts';

export interface CounterMetric {
  inc(labels?: Record<string, string>, value?: number): void;
}
export interface GaugeMetric {
  set(labels: Record<string, string>, value: number): void;
  set(value: number): void;
}
export interface HistogramMetric {
  observe(labels: Record<string, string>, value: number): void;
  observe(value: number): void;
}

/** How often process metrics sample the event loop's lag, ms (see `withProcessMetrics`). */
export const EVENT_LOOP_SAMPLE_MS_DEFAULT = 100;
/**
 * Label combinations kept per metric. Label values come from our code (states, reasons, link ends),
 * not from requests, so this is never reached by design; if it is, further combinations are not
 * recorded and `metrics_series_dropped_total` says how many observations were lost.
 */
export const SERIES_PER_METRIC_MAX = 4096;
/** Metrics per registry. */
export const METRICS_PER_REGISTRY_MAX = 1024;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** What a series key holds for a label the caller did not give (printed without it, as prom-client does). */
const LABEL_ABSENT = '\u0000';

type MetricType = 'counter' | 'gauge' | 'histogram';

interface Series {
  /** One per label name, LABEL_ABSENT when not given. */
  readonly labelValues: readonly string[];
  value: number;
  /** Histograms only: observations per bucket (not cumulative), then the sum. */
  readonly bucketCounts?: Float64Array;
  sum: number;
}

/** A value as the text format writes it: Go's ParseFloat reads JavaScript's number text, except for the infinities and NaN. */
function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** One metric (a family of series, one per label combination). */
class MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /** Histograms: upper bounds, ascending, without +Inf. */
  readonly buckets: readonly number[];
  readonly #series = new Map<string, Series>();
  readonly #registry: MetricsRegistry;

  constructor(registry: MetricsRegistry, name: string, help: string, type: MetricType, labelNames: readonly string[], buckets: readonly number[] = []) {
    this.#registry = registry;
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = [...labelNames];
    this.buckets = [...buckets];
    // An unlabelled metric is shown from the start (0), as Prometheus clients do.
    if (labelNames.length === 0) this.series(undefined);
  }

  /** The series for `labels`, created at first use; undefined when the metric holds SERIES_PER_METRIC_MAX already. */
  series(labels: Record<string, string> | undefined): Series | undefined {
    let key = '';
    let labelValues: string[] | undefined;
    if (labels !== undefined) {
      for (const name in labels) {
        if (!this.labelNames.includes(name)) {
          throw new OrbitfedError('ORBITFED_METRICS_LABEL', `metric ${this.name} has no label "${name}" (its labels: ${this.labelNames.join(', ') || 'none'})`);
        }
      }
      labelValues = this.labelNames.map((name) => {
        const value = labels[name];
        return value === undefined ? LABEL_ABSENT : String(value);
      });
      key = labelValues.join('\u0001');
    }
    const found = this.#series.get(key);
    if (found !== undefined) return found;
    if (this.#series.size >= SERIES_PER_METRIC_MAX) {
      this.#registry.seriesDropped++;
      return undefined;
    }
    const created: Series = {
      labelValues: labelValues ?? this.labelNames.map(() => LABEL_ABSENT), value: 0, sum: 0,
      ...(this.type === 'histogram' ? { bucketCounts: new Float64Array(this.buckets.length + 1) } : {}),
    };
    this.#series.set(key, created);
    return created;
  }

  /** Drops every series (collectors that rebuild a labelled gauge from scratch). */
  reset(): void {
    this.#series.clear();
    if (this.labelNames.length === 0) this.series(undefined);
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const series of this.#series.values()) {
      const labels = this.labelNames.flatMap((name, i) => (series.labelValues[i] === LABEL_ABSENT ? [] : [`${name}="${escapeLabelValue(series.labelValues[i]!)}"`]));
      if (this.type !== 'histogram') {
        lines.push(`${this.name}${labels.length === 0 ? '' : `{${labels.join(',')}}`} ${formatValue(series.value)}`);
        continue;
      }
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.bucketCounts![i]!;
        const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : '+Inf';
        lines.push(`${this.name}_bucket{${[`le="${le}"`, ...labels].join(',')}} ${cumulative}`);
      }
      const braces = labels.length === 0 ? '' : `{${labels.join(',')}}`;
      lines.push(`${this.name}_sum${braces} ${formatValue(series.sum)}`, `${this.name}_count${braces} ${cumulative}`);
    }
  }
}

function checkNumber(metric: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new OrbitfedError('ORBITFED_METRICS_VALUE', `metric ${metric}: ${String(value)} is not a number`);
}

/** Refreshes metrics just before each rendering (process metrics read /proc, the heap, the event loop then). */
type MetricsCollector = () => Promise<void>;
/** What a collector read: one value per label combination (`undefined`: the metric has no labels). */
export type Samples = readonly (readonly [Record<string, string> | undefined, number])[];

/** One process's metrics: create counters, gauges and histograms; render the exposition text. */
export class MetricsRegistry {
  readonly #families = new Map<string, MetricFamily>();
  readonly #collectors: MetricsCollector[] = [];
  /** Observations not recorded because their metric had SERIES_PER_METRIC_MAX label combinations. */
  seriesDropped = 0;

  /**
   * Adds Node's process metrics (CPU, memory, file descriptors, heap, event-loop lag) under `prefix`,
   * with the names prom-client gives them (common/metrics-process.ts). The lag is sampled every
   * `eventLoopSampleMs` (10 ms woke an idle process 100 times a second: 0.8 % of a core measured
   * here, most of an idle agent's CPU); a block of the loop at least that long is always seen.
   */
  withProcessMetrics(prefix = 'orbitfed_', options: { readonly eventLoopSampleMs?: number } = {}): this {
    const eventLoopSampleMs = options.eventLoopSampleMs ?? EVENT_LOOP_SAMPLE_MS_DEFAULT;
    if (!(Number.isInteger(eventLoopSampleMs) && eventLoopSampleMs >= 1)) {
      throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `eventLoopSampleMs must be a whole number of ms ≥ 1 (got ${eventLoopSampleMs})`);
    }
    if (!METRIC_NAME.test(`${prefix}x`)) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `metric prefix '${prefix}' is not [a-zA-Z_:][a-zA-Z0-9_:]*`);
    addProcessMetrics(this, prefix, eventLoopSampleMs);
    return this;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): CounterMetric {
    const family = this.#add(name, help, 'counter', labelNames);
    return {
      inc: (labels, value = 1) => {
        checkNumber(name, value);
        if (value < 0) throw new OrbitfedError('ORBITFED_METRICS_VALUE', `counter ${name} cannot decrease (inc by ${value})`);
        const series = family.series(labels);
        if (series !== undefined) series.value += value;
      },
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): GaugeMetric {
    const family = this.#add(name, help, 'gauge', labelNames);
    return {
      set: (labelsOrValue: Record<string, string> | number, value?: number) => {
        const [labels, v] = typeof labelsOrValue === 'number' ? [undefined, labelsOrValue] : [labelsOrValue, value ?? 0];
        checkNumber(name, v);
        const series = family.series(labels);
        if (series !== undefined) series.value = v;
      },
    } as GaugeMetric;
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): HistogramMetric {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `histogram ${name}: buckets must be finite and strictly ascending (got ${buckets.join(', ')})`);
    }
    if (labelNames.includes('le')) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `histogram ${name}: "le" is reserved for its buckets`);
    const family = this.#add(name, help, 'histogram', labelNames, buckets);
    return {
      observe: (labelsOrValue: Record<string, string> | number, value?: number) => {
        const [labels, v] = typeof labelsOrValue === 'number' ? [undefined, labelsOrValue] : [labelsOrValue, value ?? 0];
        checkNumber(name, v);
        const series = family.series(labels);
        if (series === undefined) return;
        let bucket = 0;
        while (bucket < buckets.length && v > buckets[bucket]!) bucket++;
        series.bucketCounts![bucket]! += 1;
        series.sum += v;
      },
    } as HistogramMetric;
  }

  /**
   * A counter or gauge whose every series is replaced at each rendering by what `collect` reads
   * (process metrics: CPU seconds so far, one series per heap space). For common/metrics-process.ts.
   */
  collected(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[], collect: () => Samples | Promise<Samples>): void {
    const family = this.#add(name, help, type, labelNames);
    this.#collectors.push(async () => {
      const samples = await collect();
      family.reset();
      for (const [labels, value] of samples) {
        const series = family.series(labels);
        if (series !== undefined) series.value = value;
      }
    });
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  async render(): Promise<string> {
    for (const collect of this.#collectors) await collect();
    // One block per metric, a blank line between blocks (as prom-client writes them).
    const blocks: string[] = [];
    for (const family of this.#families.values()) {
      const lines: string[] = [];
      family.render(lines);
      blocks.push(lines.join('\n'));
    }
    if (this.seriesDropped > 0) {
      blocks.push(['# HELP metrics_series_dropped_total Observations not recorded: their metric had too many label combinations.',
        '# TYPE metrics_series_dropped_total counter', `metrics_series_dropped_total ${this.seriesDropped}`].join('\n'));
    }
    return `${blocks.join('\n\n')}\n`;
  }

  get contentType(): string {
    return 'text/plain; version=0.0.4; charset=utf-8';
  }

  #add(name: string, help: string, type: MetricType, labelNames: readonly string[], buckets?: readonly number[]): MetricFamily {
    if (!METRIC_NAME.test(name)) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `metric name '${name}' is not [a-zA-Z_:][a-zA-Z0-9_:]*`);
    if (this.#families.has(name)) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `metric ${name} is registered already`);
    if (this.#families.size >= METRICS_PER_REGISTRY_MAX) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `a registry holds at most ${METRICS_PER_REGISTRY_MAX} metrics (adding ${name})`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `metric ${name}: label name '${label}' is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with __)`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `metric ${name}: a label is named twice (${labelNames.join(', ')})`);
    const family = new MetricFamily(this, name, help, type, labelNames, buckets);
    this.#families.set(name, family);
    return family;
  }
}

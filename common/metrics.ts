// The one importer of prom-client (STYLE rule 17): each long-running process owns one registry
// and serves it at /metrics in the Prometheus text format (ARCHITECTURE: Observability).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OrbitfedError } from './errors.ts';

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

/** One process's metrics: create counters, gauges and histograms; render the exposition text. */
export class MetricsRegistry {
  readonly #registry = new Registry();

  /**
   * Adds Node's process metrics (CPU, memory, event-loop lag) under `prefix`. The lag is sampled by
   * a timer every `eventLoopSampleMs` (prom-client's default of 10 ms woke an idle process 100 times
   * a second: 0.8 % of a core measured here, most of an idle agent's CPU); a block of the loop at
   * least that long is always seen.
   */
  withProcessMetrics(prefix = 'orbitfed_', options: { readonly eventLoopSampleMs?: number } = {}): this {
    const eventLoopMonitoringPrecision = options.eventLoopSampleMs ?? EVENT_LOOP_SAMPLE_MS_DEFAULT;
    if (!(Number.isInteger(eventLoopMonitoringPrecision) && eventLoopMonitoringPrecision >= 1)) {
      throw new OrbitfedError('ORBITFED_METRICS_OPTIONS', `eventLoopSampleMs must be a whole number of ms ≥ 1 (got ${eventLoopMonitoringPrecision})`);
    }
    collectDefaultMetrics({ register: this.#registry, prefix, eventLoopMonitoringPrecision });
    return this;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): CounterMetric {
    const metric = new Counter({ name, help, labelNames, registers: [this.#registry] });
    return { inc: (labels, value) => (labels ? metric.inc(labels, value ?? 1) : metric.inc(value ?? 1)) };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): GaugeMetric {
    const metric = new Gauge({ name, help, labelNames, registers: [this.#registry] });
    return {
      set: (labelsOrValue: Record<string, string> | number, value?: number) => {
        if (typeof labelsOrValue === 'number') metric.set(labelsOrValue);
        else metric.set(labelsOrValue, value ?? 0);
      },
    } as GaugeMetric;
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): HistogramMetric {
    const metric = new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.#registry] });
    return {
      observe: (labelsOrValue: Record<string, string> | number, value?: number) => {
        if (typeof labelsOrValue === 'number') metric.observe(labelsOrValue);
        else metric.observe(labelsOrValue, value ?? 0);
      },
    } as HistogramMetric;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  async render(): Promise<string> {
    return this.#registry.metrics();
  }

  get contentType(): string {
    return this.#registry.contentType;
  }
}

// A process's metrics registry: Node's process metrics under the orbitfed_ prefix, with the event
// loop's lag sampled at a chosen interval (common/metrics.ts: prom-client's 10 ms woke an idle
// process 100 times a second).
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, OrbitfedError } from '../../common/index.ts';

describe('process metrics', () => {
  it('expose CPU, memory and event-loop lag under the prefix, at the default and at a chosen sampling interval', async () => {
    for (const registry of [new MetricsRegistry().withProcessMetrics(), new MetricsRegistry().withProcessMetrics('orbitfed_', { eventLoopSampleMs: 1_000 })]) {
      const text = await registry.render();
      expect(text).toMatch(/^orbitfed_process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^orbitfed_process_resident_memory_bytes \d/m);
      expect(text).toMatch(/^orbitfed_nodejs_eventloop_lag_p99_seconds /m);
    }
  });

  it('refuse a sampling interval that is not a whole number of milliseconds of at least 1', () => {
    for (const eventLoopSampleMs of [0, -5, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MetricsRegistry().withProcessMetrics('orbitfed_', { eventLoopSampleMs })).toThrow(OrbitfedError);
      try {
        new MetricsRegistry().withProcessMetrics('orbitfed_', { eventLoopSampleMs });
      } catch (error) {
        expect((error as OrbitfedError).code).toBe('ORBITFED_METRICS_OPTIONS');
        expect((error as Error).message).toContain('eventLoopSampleMs');
      }
    }
  });
});

// Node's process metrics for a MetricsRegistry, named as prom-client's default metrics are (so that
// dashboards and alerts written for those keep working): CPU seconds, start time, resident and
// virtual memory, file descriptors, V8's heap, the event loop's lag, active resources, the Node
// version. Read when /metrics is rendered, from process.* and, on Linux, /proc/self. Not V8's heap
// spaces (prom-client's nodejs_heap_space_*): node:v8 loads 23 more of Node's modules, resident in
// every process that reports, for numbers nobody has alerted on.
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { nextEventLoopTurn } from './clock.ts';
import type { MetricsRegistry, Samples } from './metrics.ts';

type Sample = Samples[number];
const one = (value: number): Sample[] => [[undefined, value]];
const NS_PER_SEC = 1e9;
const US_PER_SEC = 1e6;
const BYTES_PER_KB = 1024;

/** A field of /proc/self/status in kB, as bytes; undefined off Linux. */
function procStatusBytes(status: string | undefined, field: string): number | undefined {
  if (status === undefined) return undefined;
  const kb = new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * BYTES_PER_KB;
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The soft limit of open files (/proc/self/limits), undefined when unknown or unlimited. */
function maxFds(): number | undefined {
  const limits = readOrUndefined(() => readFileSync('/proc/self/limits', 'utf8'));
  const soft = limits === undefined ? undefined : /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/** Registers the process metrics under `prefix`; the event loop's delay is sampled every `eventLoopSampleMs`. */
export function addProcessMetrics(registry: MetricsRegistry, prefix: string, eventLoopSampleMs: number): void {
  const onLinux = process.platform === 'linux';
  let status: string | undefined;
  // /proc/self/status once per rendering, read by the first collector that needs it.
  const statusField = (field: string): Sample[] => {
    const bytes = procStatusBytes(status, field);
    return bytes === undefined ? [] : one(bytes);
  };

  registry.collected('counter', `${prefix}process_cpu_user_seconds_total`, 'Total user CPU time spent in seconds.', [], () => {
    status = onLinux ? readOrUndefined(() => readFileSync('/proc/self/status', 'utf8')) : undefined;
    return one(process.cpuUsage().user / US_PER_SEC);
  });
  registry.collected('counter', `${prefix}process_cpu_system_seconds_total`, 'Total system CPU time spent in seconds.', [], () => one(process.cpuUsage().system / US_PER_SEC));
  registry.collected('counter', `${prefix}process_cpu_seconds_total`, 'Total user and system CPU time spent in seconds.', [], () => {
    const { user, system } = process.cpuUsage();
    return one((user + system) / US_PER_SEC);
  });
  // performance.timeOrigin is when this process started (Unix ms), fixed for its life: not a reading of the clock.
  const startSec = Math.round(performance.timeOrigin / 1000);
  registry.collected('gauge', `${prefix}process_start_time_seconds`, 'Start time of the process since unix epoch in seconds.', [], () => one(startSec));
  registry.collected('gauge', `${prefix}process_resident_memory_bytes`, 'Resident memory size in bytes.', [], () => one(process.memoryUsage.rss()));
  if (onLinux) {
    registry.collected('gauge', `${prefix}process_virtual_memory_bytes`, 'Virtual memory size in bytes.', [], () => statusField('VmSize'));
    registry.collected('gauge', `${prefix}process_heap_bytes`, 'Process heap size in bytes.', [], () => statusField('VmData'));
    registry.collected('gauge', `${prefix}process_open_fds`, 'Number of open file descriptors.', [], () => {
      const entries = readOrUndefined(() => String(readdirSync('/proc/self/fd').length));
      // readdir's own descriptor is listed too.
      return entries === undefined ? [] : one(Number(entries) - 1);
    });
    const fdsMax = maxFds();
    if (fdsMax !== undefined) registry.collected('gauge', `${prefix}process_max_fds`, 'Maximum number of open file descriptors.', [], () => one(fdsMax));
  }

  // The lag now: how long the event loop takes to come round while /metrics is rendered; and the
  // delays sampled since the rendering before (read, then reset, by this first collector).
  const delay = monitorEventLoopDelay({ resolution: eventLoopSampleMs });
  delay.enable();
  let delays = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
  registry.collected('gauge', `${prefix}nodejs_eventloop_lag_seconds`, 'Lag of event loop in seconds.', [], async () => {
    const sampled = delay.count > 0;
    delays = {
      min: sampled ? delay.min : 0, max: sampled ? delay.max : 0, mean: sampled ? delay.mean : 0, stddev: sampled ? delay.stddev : 0,
      p50: sampled ? delay.percentile(50) : 0, p90: sampled ? delay.percentile(90) : 0, p99: sampled ? delay.percentile(99) : 0,
    };
    delay.reset();
    const startNs = process.hrtime.bigint();
    await nextEventLoopTurn();
    return one(Number(process.hrtime.bigint() - startNs) / NS_PER_SEC);
  });
  const stats: readonly [keyof typeof delays, string][] = [
    ['min', 'The minimum recorded event loop delay.'],
    ['max', 'The maximum recorded event loop delay.'],
    ['mean', 'The mean of the recorded event loop delays.'],
    ['stddev', 'The standard deviation of the recorded event loop delays.'],
    ['p50', 'The 50th percentile of the recorded event loop delays.'],
    ['p90', 'The 90th percentile of the recorded event loop delays.'],
    ['p99', 'The 99th percentile of the recorded event loop delays.'],
  ];
  for (const [stat, help] of stats) registry.collected('gauge', `${prefix}nodejs_eventloop_lag_${stat}_seconds`, help, [], () => one(delays[stat] / NS_PER_SEC));

  registry.collected('gauge', `${prefix}nodejs_active_resources_total`, 'Total number of active resources.', [], () => one(process.getActiveResourcesInfo().length));
  registry.collected('gauge', `${prefix}nodejs_heap_size_total_bytes`, 'Process heap size from Node.js in bytes.', [], () => one(process.memoryUsage().heapTotal));
  registry.collected('gauge', `${prefix}nodejs_heap_size_used_bytes`, 'Process heap size used from Node.js in bytes.', [], () => one(process.memoryUsage().heapUsed));
  registry.collected('gauge', `${prefix}nodejs_external_memory_bytes`, 'Node.js external memory size in bytes.', [], () => one(process.memoryUsage().external));
  const [major, minor, patch] = process.versions.node.split('.');
  registry.collected('gauge', `${prefix}nodejs_version_info`, 'Node.js version info.', ['version', 'major', 'minor', 'patch'],
    () => [[{ version: process.version, major: major ?? '', minor: minor ?? '', patch: patch ?? '' }, 1]]);
}

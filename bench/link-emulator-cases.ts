// The "Link emulator" cases (issue 9): how exactly `LinkEmulator` (hil/link-emulator.ts) gives a
// link its light time and its rate, on loopback, on the real clock.
// - Delay: small timestamped messages (16 bytes: send time and sequence number) cross the relay on a
//   contact with OWLT 10 ms, 100 ms and 1.28 s and a rate of 100 Mbit/s; the error is the measured
//   one-way delay minus the OWLT minus the message's transmission time (1.3 µs). Target: within
//   1 ms (median and p99 of |error| reported).
// - Baseline: the same messages on a direct loopback connection, without the relay, so a reader
//   sees what the machine itself adds.
// - Throughput: a sender writes as fast as the relay lets it (TCP backpressure) through contacts of
//   1, 10 and 100 Mbit/s; the sustained rate is the bytes received after the first second divided
//   by the time they took. Target: within 5 % of the contact rate.
// The relay is the real program, `orbitfed link-emulator`, in its own process, as a rig runs it;
// sender and receiver share another process (link-emulator-probe.ts, when run by bench/run.ts).
// Delay messages are measured after 100 warm-up messages, whose errors are reported apart.
// For looking closer: RELAY_NODE_ARGS adds node flags to the relay (e.g. `--cpu-prof
// --cpu-prof-dir=DIR`, `--trace-gc`), BENCH_DUMP_DELAYS=PREFIX writes each case's errors (ms, in
// send order) to PREFIX-<owlt>.json. Times are `performance.now()` here; the relay times its
// deliveries on common's PreciseRealClock (hil/link-emulator-service.ts). The relay's CPU time over
// each case (from /proc, Linux) is reported beside it: the precise clock's last stretch before
// each delivery costs CPU.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { ContactPlan, formatContactPlan } from '../contact-plans/index.ts';
import type { FromLinkEmulatorProbe } from './link-emulator-probe.ts';
import type { ContactPlanRow } from './report.ts';
import { median, percentile } from './timing.ts';

const ORBITFED = fileURLToPath(new URL('../bin/orbitfed.ts', import.meta.url));
const GROUND = 1;
const SATELLITE = 2;
const MESSAGE_BYTES = 16;
const DELAY_ERROR_MS_MAX = 1;
const THROUGHPUT_ERROR_FRACTION_MAX = 0.05;
const DELAY_CASES_OWLT_SEC = [0.01, 0.1, 1.28] as const;
const DELAY_RATE_BYTES_PER_SEC = 12_500_000;
const DELAY_MESSAGES = 300;
const DELAY_WARMUP_MESSAGES = 100;
const THROUGHPUT_CASES_MBIT_PER_SEC = [1, 10, 100] as const;
const THROUGHPUT_WARMUP_MS = 1000;
const THROUGHPUT_MEASURE_MS = 5000;
const THROUGHPUT_OWLT_SEC = 0.01;
const WRITE_CHUNK_BYTES = 64 * 1024;
const HICCUP_MEASURE_MS = 10_000;
const HICCUP_SLICE_MS = 100;
/** Gaps kept at most (a machine that pauses this often is measured enough). */
const HICCUP_GAPS_MAX = 100_000;
/** Gaps a spinning thread counts (ms): the smallest is below any the target cares about. */
const HICCUP_GAP_MS = [0.5, 1, 2, 5] as const;

export interface LinkEmulatorCasesResult {
  readonly rows: readonly ContactPlanRow[];
  readonly notes: readonly string[];
}

interface Rig {
  readonly listen: { host: string; port: number };
  readonly accepted: Promise<Socket>;
  /** CPU time the relay process has used so far, ms (user + system); undefined without a relay or /proc. */
  relayCpuMs(): number | undefined;
  stop(): Promise<void>;
}

/** Linux's /proc reports CPU times in USER_HZ ticks, 100 per second whatever the kernel's HZ. */
const PROC_TICKS_PER_SEC = 100;

/** CPU time (user + system, ms) of a process from /proc/PID/stat, or undefined where there is none. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / PROC_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** A server on a free loopback port standing for the far side; `accepted` is its first connection. */
async function openSink(): Promise<{ sink: Server; sinkPort: number; accepted: Promise<Socket> }> {
  let accept: (socket: Socket) => void = () => {};
  const accepted = new Promise<Socket>((resolve) => { accept = resolve; });
  const sink = createServer((socket) => accept(socket));
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  return { sink, sinkPort: (sink.address() as { port: number }).port, accepted };
}

/**
 * `orbitfed link-emulator` as its own process (as a rig runs it), relaying one contact open from
 * its start for an hour to a far side in this process.
 */
async function startRig(owltSec: number, rateBytesPerSec: number): Promise<Rig> {
  const { sink, sinkPort, accepted } = await openSink();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-link-bench-'));
  const plan = new ContactPlan({
    epochMs: undefined,
    nodes: [],
    contacts: [{ from: GROUND, to: SATELLITE, startSec: 0, endSec: 3600, rateBytesPerSec, owltSec, confidence: 1 }],
  });
  writeFileSync(path.join(directory, 'plan.json'), formatContactPlan(plan, 'json'));
  writeFileSync(path.join(directory, 'map.json'), JSON.stringify({
    planEpoch: 'start',
    inFlightBytesMax: 256 * 1024 * 1024,
    nodes: [{ ipn: SATELLITE, target: `127.0.0.1:${sinkPort}`, listen: [{ from: GROUND, address: '127.0.0.1:0' }] }],
  }));
  const relay = spawn(process.execPath, [...(process.env.RELAY_NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? []), ORBITFED, 'link-emulator', '--plan', path.join(directory, 'plan.json'), '--map', path.join(directory, 'map.json'), '--log-level', 'warn'], {
    // Its standard output only carries what RELAY_NODE_ARGS asks node for (`--trace-gc`, say).
    stdio: ['ignore', process.env.RELAY_NODE_ARGS === undefined ? 'ignore' : 'inherit', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (relay.exitCode === null) {
      relay.kill('SIGTERM');
      await once(relay, 'exit');
    }
    sink.close();
    rmSync(directory, { recursive: true, force: true });
  };
  let stderr = '';
  try {
    const listen = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      relay.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const found = /listen (127\.0\.0\.1):(\d+)/.exec(stderr);
        if (found !== null) resolve({ host: found[1]!, port: Number(found[2]) });
      });
      relay.once('exit', (code) => reject(new Error(`orbitfed link-emulator exited (${code}): ${stderr}`)));
    });
    return { listen, accepted, relayCpuMs: () => processCpuMs(relay.pid), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function openClient(rig: Rig): Promise<{ client: Socket; far: Socket }> {
  const client = connect({ ...rig.listen, noDelay: true });
  await once(client, 'connect');
  const far = await rig.accepted;
  far.setNoDelay(true);
  // The relay resets both sides when it stops: expected, not a failure of the bench.
  client.on('error', () => {});
  far.on('error', () => {});
  return { client, far };
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * The least a relay process can do: a plain Node process that writes each chunk it reads on to
 * the sink at once (no delay, no timers, no contact plan). Its latency is the two loopback hops
 * and the two wake-ups of other processes that every user-space relay pays, on this machine.
 */
const FORWARDER_SOURCE = `
const net = require('node:net');
const sinkPort = Number(process.argv[1]);
const server = net.createServer({ noDelay: true }, (from) => {
  const to = net.connect({ host: '127.0.0.1', port: sinkPort, noDelay: true });
  from.on('data', (chunk) => to.write(chunk));
  from.on('error', () => to.destroy());
  to.on('error', () => from.destroy());
});
server.listen(0, '127.0.0.1', () => process.stderr.write('listen 127.0.0.1:' + server.address().port + '\\n'));
`;

async function startForwarder(): Promise<Rig> {
  const { sink, sinkPort, accepted } = await openSink();
  const forwarder = spawn(process.execPath, ['-e', FORWARDER_SOURCE, String(sinkPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = async (): Promise<void> => {
    if (forwarder.exitCode === null) {
      forwarder.kill('SIGTERM');
      await once(forwarder, 'exit');
    }
    sink.close();
  };
  try {
    let stderr = '';
    const listen = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      forwarder.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const found = /listen (127\.0\.0\.1):(\d+)/.exec(stderr);
        if (found !== null) resolve({ host: found[1]!, port: Number(found[2]) });
      });
      forwarder.once('exit', (code) => reject(new Error(`the plain forwarder exited (${code}): ${stderr}`)));
    });
    return { listen, accepted, relayCpuMs: () => processCpuMs(forwarder.pid), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A sink and a client connected to it directly, without a relay: the machine's own loopback latency. */
async function startDirect(): Promise<Rig> {
  const { sink, sinkPort, accepted } = await openSink();
  return { listen: { host: '127.0.0.1', port: sinkPort }, accepted, relayCpuMs: () => undefined, stop: async () => { sink.close(); } };
}

/**
 * One-way delay errors (ms) of DELAY_MESSAGES messages through a contact with `owltSec`, or, for
 * `undefined`, the plain one-way latency of a direct connection (the baseline), after
 * DELAY_WARMUP_MESSAGES on the same connection whose errors are kept apart: the first messages
 * through a process that just started run code V8 has not compiled yet, while its compiler threads
 * take the CPU (milliseconds late), which is start-up, not the light time a rig runs with for hours.
 */
async function measureDelay(owltSec: number | 'direct' | 'forwarder'): Promise<{ errorsMs: number[]; warmupErrorsMs: number[]; relayCpuMs: number | undefined; ownCollections: { count: number; longestMs: number } }> {
  const rig = owltSec === 'direct' ? await startDirect() : owltSec === 'forwarder' ? await startForwarder() : await startRig(owltSec, DELAY_RATE_BYTES_PER_SEC);
  try {
    const { client, far } = await openClient(rig);
    const expectedMs = typeof owltSec === 'string' ? 0 : owltSec * 1000 + (MESSAGE_BYTES * 1000) / DELAY_RATE_BYTES_PER_SEC;
    let errorsMs: number[] = [];
    let sentAtMs: number[] = [];
    let wanted = 0;
    let arrived: () => void = () => {};
    let buffered = Buffer.alloc(0);
    far.on('data', (chunk: Buffer) => {
      const nowMs = performance.now();
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= MESSAGE_BYTES) {
        errorsMs.push(nowMs - buffered.readDoubleLE(0) - expectedMs);
        buffered = buffered.subarray(MESSAGE_BYTES);
      }
      if (errorsMs.length >= wanted) arrived();
    });
    /** Sends `count` messages and resolves to their errors once all have arrived. */
    const run = async (count: number): Promise<number[]> => {
      errorsMs = [];
      sentAtMs = [];
      wanted = count;
      const done = new Promise<void>((resolve) => { arrived = resolve; });
      // Irregular spacing (2–7 ms), so that sends do not line up with the relay's millisecond clock.
      for (let i = 0; i < count; i += 1) {
        const message = Buffer.alloc(MESSAGE_BYTES);
        const sentMs = performance.now();
        sentAtMs.push(sentMs);
        message.writeDoubleLE(sentMs, 0);
        message.writeDoubleLE(i, 8);
        client.write(message);
        await sleepMs(2 + (i * 7919) % 6);
      }
      // A bench that lost messages must say so rather than wait forever.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`link emulator bench: ${errorsMs.length} of ${count} messages arrived (OWLT ${typeof owltSec === 'string' ? `none: ${owltSec}` : `${owltSec} s`})`)), (typeof owltSec === 'string' ? 0 : owltSec) * 1000 + 30_000);
      });
      await Promise.race([done, deadline]).finally(() => clearTimeout(timer));
      return errorsMs;
    };
    const warmupErrorsMs = await run(DELAY_WARMUP_MESSAGES);
    // The sender and the receiver are not what is measured: a collection of their heap (what the
    // earlier cases left) in the middle of the run would make messages late that the relay was not.
    // So the probe collects before the run (node --expose-gc, as runLinkEmulatorCasesAlone forks it)
    // and gives its sweeper threads a moment, and its collections during the run are counted.
    globalThis.gc?.();
    await sleepMs(50);
    const ownCollections = { count: 0, longestMs: 0 };
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        ownCollections.count += 1;
        ownCollections.longestMs = Math.max(ownCollections.longestMs, entry.duration);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const cpuAtStartMs = rig.relayCpuMs();
    const measuredMs = await run(DELAY_MESSAGES);
    const cpuAtEndMs = rig.relayCpuMs();
    // The observer hears of the last collections on a later turn.
    await sleepMs(10);
    observer.disconnect();
    client.destroy();
    if (process.env.BENCH_DUMP_DELAYS !== undefined) {
      // Send times on CLOCK_MONOTONIC (what `perf sched record -k CLOCK_MONOTONIC` stamps), to line
      // a late message up with what the scheduler ran at that moment.
      const monotonicMinusNowMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
      writeFileSync(`${process.env.BENCH_DUMP_DELAYS}-${owltSec}.json`, JSON.stringify({ warmupErrorsMs, measuredMs, measuredSentMonotonicMs: sentAtMs.map((ms) => ms + monotonicMinusNowMs) }));
    }
    return { errorsMs: measuredMs, warmupErrorsMs, relayCpuMs: cpuAtStartMs === undefined || cpuAtEndMs === undefined ? undefined : cpuAtEndMs - cpuAtStartMs, ownCollections };
  } finally {
    await rig.stop();
  }
}

/** "none", or how many collections and the longest. */
function describeCollections({ count, longestMs }: { count: number; longestMs: number }): string {
  return count === 0 ? 'none' : `${count} (longest ${longestMs.toFixed(2)} ms)`;
}

/** Sustained bytes/s through a contact of `rateBytesPerSec`, after a warm-up. */
async function measureThroughput(rateBytesPerSec: number): Promise<{ rateBytesPerSec: number; bytes: number; ms: number; relayCpuFraction: number | undefined }> {
  const rig = await startRig(THROUGHPUT_OWLT_SEC, rateBytesPerSec);
  try {
    const { client, far } = await openClient(rig);
    let receivedBytes = 0;
    let firstMs: number | undefined;
    let markBytes = 0;
    let markMs = 0;
    let lastMs = 0;
    far.on('data', (chunk: Buffer) => {
      const nowMs = performance.now();
      firstMs ??= nowMs;
      receivedBytes += chunk.length;
      lastMs = nowMs;
      if (markMs === 0 && nowMs - firstMs >= THROUGHPUT_WARMUP_MS) {
        markMs = nowMs;
        markBytes = receivedBytes;
      }
    });
    const chunk = Buffer.alloc(WRITE_CHUNK_BYTES, 0x5a);
    const stop = new AbortController();
    const pump = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        if (!client.write(chunk)) await once(client, 'drain', { signal: stop.signal });
      }
    };
    const pumping = pump().catch(() => {});
    await sleepMs(THROUGHPUT_WARMUP_MS);
    const cpuAtStartMs = rig.relayCpuMs();
    const wallAtStartMs = performance.now();
    await sleepMs(THROUGHPUT_MEASURE_MS + THROUGHPUT_OWLT_SEC * 1000 + 100);
    const cpuAtEndMs = rig.relayCpuMs();
    const relayCpuFraction = cpuAtStartMs === undefined || cpuAtEndMs === undefined ? undefined : (cpuAtEndMs - cpuAtStartMs) / (performance.now() - wallAtStartMs);
    stop.abort();
    await pumping;
    client.destroy();
    const bytes = receivedBytes - markBytes;
    const ms = lastMs - markMs;
    return { rateBytesPerSec: (bytes * 1000) / ms, bytes, ms, relayCpuFraction };
  } finally {
    await rig.stop();
  }
}

/** Per CPU, the time the hypervisor ran something else while this machine's vCPU wanted to run (/proc/stat's steal), in ticks; empty off Linux. */
function stealTicks(): number[] {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((line) => /^cpu\d/.test(line)).map((line) => Number(line.trim().split(/\s+/)[8] ?? 0));
  } catch {
    return [];
  }
}

/** Linux's USER_HZ: /proc/stat counts in these ticks. */
const TICKS_PER_SEC = 100;

/**
 * The machine's own part of any timing, without a relay (in the manner of jHiccup): one thread
 * reads the clock in a loop for `durationMs` on a quiet core, and every gap between two readings is
 * time it did not run — taken by the kernel or, on a virtual machine, by the hypervisor (the steal
 * time beside it). A relay cannot be more exact than a thread that is always running. The loop's
 * own garbage collections (each clock reading allocates) are told apart by their `gc` performance
 * entries and counted on their own.
 */
async function measureHiccups(durationMs: number): Promise<{ gapsAtLeast: number[]; ownCollections: number; maxGapMs: number; stealFraction: number | undefined }> {
  const collections: { startMs: number; endMs: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push({ startMs: entry.startTime, endMs: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const gaps: { atMs: number; gapMs: number }[] = [];
  // Spun in slices by a small function, optimised after its first slice.
  spinSlice(HICCUP_SLICE_MS, []);
  const stealBefore = stealTicks();
  const startMs = performance.now();
  while (performance.now() - startMs < durationMs && gaps.length < HICCUP_GAPS_MAX) spinSlice(HICCUP_SLICE_MS, gaps);
  const elapsedSec = (performance.now() - startMs) / 1000;
  const stealAfter = stealTicks();
  // The observer hears of the collections on a later turn.
  await new Promise<void>((resolve) => { setTimeout(resolve, 10); });
  observer.disconnect();
  const gapsAtLeast = HICCUP_GAP_MS.map(() => 0);
  let ownCollections = 0;
  let maxGapMs = 0;
  for (const { atMs, gapMs } of gaps) {
    // A gap that a collection of this process overlaps is that collection's.
    if (collections.some((c) => c.startMs < atMs && c.endMs > atMs - gapMs)) {
      ownCollections += 1;
      continue;
    }
    HICCUP_GAP_MS.forEach((atLeastMs, i) => { if (gapMs >= atLeastMs) gapsAtLeast[i]! += 1; });
    maxGapMs = Math.max(maxGapMs, gapMs);
  }
  const stolenSec = stealAfter.reduce((sum, ticks, i) => sum + ticks - (stealBefore[i] ?? ticks), 0) / TICKS_PER_SEC;
  return { gapsAtLeast, ownCollections, maxGapMs, stealFraction: stealAfter.length === 0 ? undefined : stolenSec / (elapsedSec * stealAfter.length) };
}

/** Reads the clock for `durationMs`, keeping each gap of at least HICCUP_GAP_MS[0] between readings (where it ended, how long). */
function spinSlice(durationMs: number, gaps: { atMs: number; gapMs: number }[]): void {
  const startMs = performance.now();
  let lastMs = startMs;
  for (;;) {
    const nowMs = performance.now();
    const gapMs = nowMs - lastMs;
    lastMs = nowMs;
    if (gapMs >= HICCUP_GAP_MS[0]) gaps.push({ atMs: nowMs, gapMs });
    if (nowMs - startMs >= durationMs) return;
  }
}

export async function runLinkEmulatorCases(progress: (message: string) => void = () => {}): Promise<LinkEmulatorCasesResult> {
  const rows: ContactPlanRow[] = [];
  progress(`link emulator: the machine's hiccups, one thread spinning for ${HICCUP_MEASURE_MS / 1000} s`);
  const hiccups = await measureHiccups(HICCUP_MEASURE_MS);
  const perMinute = (count: number): string => ((count * 60_000) / HICCUP_MEASURE_MS).toFixed(0);
  rows.push({
    caseLabel: 'Baseline: the machine, no relay',
    measurement: 'a running thread\'s pauses ≥ 1 ms, per minute',
    value: `${perMinute(hiccups.gapsAtLeast[1]!)} /min (max ${hiccups.maxGapMs.toFixed(2)} ms)`,
    details: `one thread reading the clock in a loop for ${HICCUP_MEASURE_MS / 1000} s (jHiccup's method): pauses ${HICCUP_GAP_MS.map((ms, i) => `≥ ${ms} ms ${perMinute(hiccups.gapsAtLeast[i]!)}`).join(', ')} per minute (besides ${hiccups.ownCollections} pauses of its own garbage collector)${hiccups.stealFraction === undefined ? '' : `; steal time (the hypervisor's, /proc/stat) ${(hiccups.stealFraction * 100).toFixed(2)} % of each CPU`}. A message is as late as any such pause on its way (the relay's read, its timer, the receiver's read)`,
    target: '—',
    result: '—',
  });
  progress('link emulator: baseline, direct loopback');
  const baselineMs = (await measureDelay('direct')).errorsMs;
  rows.push({
    caseLabel: 'Baseline: direct loopback, no relay',
    measurement: 'one-way latency, median / p99',
    value: `${median(baselineMs).toFixed(3)} ms / ${percentile(baselineMs, 99).toFixed(3)} ms`,
    details: `the same ${baselineMs.length} messages straight to the receiver: what the machine adds to every row below`,
    target: '—',
    result: '—',
  });
  progress('link emulator: baseline, a plain forwarder process');
  const forwarded = await measureDelay('forwarder');
  const forwardedMs = forwarded.errorsMs;
  rows.push({
    caseLabel: 'Baseline: a plain forwarder process, no delay',
    measurement: 'one-way latency, median / p99',
    value: `${median(forwardedMs).toFixed(3)} ms / ${percentile(forwardedMs, 99).toFixed(3)} ms`,
    details: `the same ${forwardedMs.length} messages through a ${FORWARDER_SOURCE.trim().split('\n').length}-line Node process that writes each chunk on at once (no timers, no plan): the two hops and two wake-ups any user-space relay pays here; ${((100 * forwardedMs.filter((e) => e <= DELAY_ERROR_MS_MAX).length) / forwardedMs.length).toFixed(1)} % within ${DELAY_ERROR_MS_MAX} ms, max ${Math.max(...forwardedMs).toFixed(3)} ms${forwarded.relayCpuMs === undefined ? '' : `; its CPU ${((forwarded.relayCpuMs * 1000) / forwardedMs.length).toFixed(0)} µs per message`}`,
    target: '—',
    result: '—',
  });
  for (const owltSec of DELAY_CASES_OWLT_SEC) {
    progress(`link emulator: delay through OWLT ${owltSec * 1000} ms`);
    const stealBefore = stealTicks();
    const caseStartMs = performance.now();
    const { errorsMs, warmupErrorsMs, relayCpuMs, ownCollections } = await measureDelay(owltSec);
    const stealAfter = stealTicks();
    const stealPercent = stealAfter.length === 0
      ? undefined
      : (100 * stealAfter.reduce((sum, ticks, i) => sum + ticks - (stealBefore[i] ?? ticks), 0)) / TICKS_PER_SEC / (((performance.now() - caseStartMs) / 1000) * stealAfter.length);
    const absolute = errorsMs.map(Math.abs);
    const warmupAbsolute = warmupErrorsMs.map(Math.abs);
    const medianMs = median(absolute);
    const p99Ms = percentile(absolute, 99);
    rows.push({
      caseLabel: `Delay, OWLT ${owltSec * 1000} ms`,
      measurement: 'one-way delay − OWLT, |error| median / p99',
      value: `${medianMs.toFixed(3)} ms / ${p99Ms.toFixed(3)} ms`,
      details: `${errorsMs.length} messages of ${MESSAGE_BYTES} B at 100 Mbit/s; ${((100 * absolute.filter((e) => e <= DELAY_ERROR_MS_MAX).length) / absolute.length).toFixed(1)} % within ${DELAY_ERROR_MS_MAX} ms; signed error median ${median(errorsMs).toFixed(3)} ms, min ${Math.min(...errorsMs).toFixed(3)} ms, max ${Math.max(...errorsMs).toFixed(3)} ms; the ${warmupErrorsMs.length} warm-up messages before them: median ${median(warmupAbsolute).toFixed(3)} ms, p99 ${percentile(warmupAbsolute, 99).toFixed(3)} ms, max ${Math.max(...warmupAbsolute).toFixed(3)} ms${relayCpuMs === undefined ? '' : `; relay CPU ${((relayCpuMs * 1000) / errorsMs.length).toFixed(0)} µs per message`}${stealPercent === undefined ? '' : `; steal time during the case ${stealPercent.toFixed(2)} %`}; the measuring process's own collections during the run: ${describeCollections(ownCollections)}`,
      target: `≤ ${DELAY_ERROR_MS_MAX} ms`,
      result: medianMs <= DELAY_ERROR_MS_MAX && p99Ms <= DELAY_ERROR_MS_MAX ? 'met' : medianMs <= DELAY_ERROR_MS_MAX ? 'median met, p99 not' : 'not met',
    });
  }
  for (const mbitPerSec of THROUGHPUT_CASES_MBIT_PER_SEC) {
    progress(`link emulator: throughput through ${mbitPerSec} Mbit/s`);
    const contactBytesPerSec = (mbitPerSec * 1e6) / 8;
    const measured = await measureThroughput(contactBytesPerSec);
    const errorFraction = measured.rateBytesPerSec / contactBytesPerSec - 1;
    rows.push({
      caseLabel: `Throughput, ${mbitPerSec} Mbit/s`,
      measurement: 'sustained rate / contact rate − 1',
      value: `${(errorFraction * 100).toFixed(2)} %`,
      details: `${((measured.rateBytesPerSec * 8) / 1e6).toFixed(3)} Mbit/s: ${measured.bytes.toLocaleString('en-US')} B in ${(measured.ms / 1000).toFixed(2)} s after a ${THROUGHPUT_WARMUP_MS / 1000} s warm-up${measured.relayCpuFraction === undefined ? '' : `; relay CPU ${(measured.relayCpuFraction * 100).toFixed(0)} % of a core`}`,
      target: `within ±${THROUGHPUT_ERROR_FRACTION_MAX * 100} %`,
      result: Math.abs(errorFraction) <= THROUGHPUT_ERROR_FRACTION_MAX ? 'met' : 'not met',
    });
  }
  const notes = [
    'The relay is `orbitfed link-emulator` (deliveries on PreciseRealClock) in its own process; sender and receiver share another fresh process (bench/link-emulator-probe.ts), not the benchmark process, whose heap holds the earlier sections\' data; 127.0.0.1; times from performance.now() in the bench; relay CPU from /proc over each case.',
    `Delay: ${DELAY_MESSAGES} messages per case, sent 2–7 ms apart, after ${DELAY_WARMUP_MESSAGES} warm-up messages on the same connection (shown apart: the first messages through a relay that just started run code V8 has not compiled yet, while its compiler threads compete for the CPU); error = arrival − send − OWLT − ${MESSAGE_BYTES} B / rate. Before each measured run the measuring process collects its own heap (node --expose-gc), so that a collection of what the earlier cases left does not land in the run; its collections during the run are counted in the details.`,
    `Throughput: the sender writes ${WRITE_CHUNK_BYTES / 1024} KiB chunks whenever the relay's backpressure lets it; OWLT ${THROUGHPUT_OWLT_SEC * 1000} ms; rate over ${THROUGHPUT_MEASURE_MS / 1000} s after ${THROUGHPUT_WARMUP_MS / 1000} s.`,
  ];
  return { rows, notes };
}

/**
 * runLinkEmulatorCases in a fresh process (link-emulator-probe.ts), so that the sender's and the
 * receiver's timestamps do not wait for the garbage collector of a benchmark process that has
 * already built the other sections' large data.
 */
export async function runLinkEmulatorCasesAlone(progress: (message: string) => void = () => {}): Promise<LinkEmulatorCasesResult> {
  // --expose-gc: the probe collects its own heap before each measured run (measureDelay).
  const probe = fork(fileURLToPath(new URL('./link-emulator-probe.ts', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, '--expose-gc'] });
  return new Promise((resolve, reject) => {
    let settled = false;
    probe.on('message', (message: FromLinkEmulatorProbe) => {
      if (message.kind === 'progress') progress(message.message);
      else if (message.kind === 'result') {
        settled = true;
        resolve(message.result);
      } else {
        settled = true;
        reject(new Error(`link emulator bench (its own process) failed: ${message.message}`));
      }
    });
    probe.on('error', reject);
    probe.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`link emulator bench process exited (${signal ?? code}) without a result`));
    });
  });
}


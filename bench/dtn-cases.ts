// The "DTN: bundles through the store and the libp2p CL" section of `npm run bench` (issue 4):
// bundles/s and MB/s from an encoding sender through the libp2p convergence layer on loopback to a
// receiver that decodes each bundle and stores it durably (fsync on) before acknowledging, for
// 1 KB, 100 KB and 10 MB payloads; beside it the same path with group commit, the CL alone, the
// store alone and the codec alone, so that a reader sees where the time goes; and the memory of a
// process putting 10,000 (up to 200,000) bundles into a store, and of one reopening it. Called by
// run.ts after the other cases, or alone with `--only dtn`; about a minute and a half on a 2-core
// machine.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../common/index.ts';
import {
  BundleStore, type BundleToPut, createLibp2pNode, decodeBundle, Libp2pConvergenceLayer, type PeerAddress,
} from '../dtn/index.ts';
import { BENCH_STORE_OPTIONS, benchPayload, encodeBenchBundle, storeEntryOf } from './dtn-bundles.ts';
import type { FromReceiver, ReceiverMode, ReceiverReport, ToReceiver } from './dtn-receiver.ts';
import type { MemorySample, StoreMemoryReport } from './dtn-store-memory.ts';
import { formatCount, formatDuration, type DtnMemoryRow, type DtnRow } from './report.ts';
import { median, percentile, startStopwatch } from './timing.ts';

const RECEIVER_TS = fileURLToPath(new URL('./dtn-receiver.ts', import.meta.url));
const STORE_MEMORY_TS = fileURLToPath(new URL('./dtn-store-memory.ts', import.meta.url));

interface PayloadCase {
  readonly label: string;
  readonly payloadBytes: number;
  /** Most bundles of one timed run: bounds the disk a run fills (the runs are also bounded in time). */
  readonly bundlesMax: number;
}

/** The issue's payload sizes, in decimal units as MB/s is: 1 KB = 1,000 bytes. */
const PAYLOAD_CASES: readonly PayloadCase[] = [
  { label: '1 KB', payloadBytes: 1_000, bundlesMax: 200_000 },
  { label: '100 KB', payloadBytes: 100_000, bundlesMax: 20_000 },
  { label: '10 MB', payloadBytes: 10_000_000, bundlesMax: 200 },
];

/** Timed seconds of each run through the CL with a store (then the sends in flight are awaited), and through the CL alone. */
const PIPELINE_SECONDS = 3;
const CL_ALONE_SECONDS = 2;
/** The store alone: this many runs of this many seconds inside put / putAll, the median run reported (fsync latency varies). */
const STORE_RUNS = 3;
const STORE_RUN_SECONDS = 1;
/** The codec alone: seconds inside encode + decode. */
const CODEC_SECONDS = 1;
/** Untimed sends first: the session opens, both sides' code warms up. */
const WARMUP_SECONDS = 0.5;
/**
 * The sender's window: an agent keeps this many sends outstanding on a contact, as many as the
 * receiver's CL window (64 bundles by default), but at most 64 MiB of bundles (6 of 10 MB: the CL's
 * 32 MiB byte window holds 3 on the wire, the others wait in its queue, ready).
 */
const SEND_WINDOW_BUNDLES = 64;
const SEND_WINDOW_BYTES = 64 * 1024 * 1024;

/** Memory: bundles of this payload, put in batches of this many (one commit each: how fast the store fills, not what is measured), sampled at these counts. */
const MEMORY_PAYLOAD_BYTES = 1_000;
const MEMORY_BATCH_BUNDLES = 100;
const MEMORY_SAMPLE_BUNDLES = [10_000, 100_000, 200_000] as const;

const MB = 1_000_000;
const SENDER_SEED = new Uint8Array(32).fill(1);
const RECEIVER_SEED = new Uint8Array(32).fill(2);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export interface DtnCasesInput {
  readonly progress: (message: string) => void;
}

export interface DtnCasesResult {
  readonly rows: readonly DtnRow[];
  readonly memoryRows: readonly DtnMemoryRow[];
  readonly notes: readonly string[];
}

/** The file system under `directory` as /proc/self/mounts names it (`ext4 on /dev/vda, mounted at /`), or undefined off Linux. */
function fileSystemOf(directory: string): string | undefined {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  const real = realpathSync(directory);
  const candidates = mounts.split('\n').map((line) => line.split(' ')).filter((f) => f.length >= 3)
    .map(([device, mountPoint, type]) => ({ device: device!, mountPoint: mountPoint!.replaceAll('\\040', ' '), type: type! }))
    .filter((m) => real === m.mountPoint || real.startsWith(m.mountPoint.endsWith('/') ? m.mountPoint : `${m.mountPoint}/`));
  const mount = candidates.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
  return mount === undefined ? undefined : `${mount.type} on ${mount.device}, mounted at ${mount.mountPoint}`;
}

const windowBundlesFor = (bundleBytes: number): number =>
  Math.max(1, Math.min(SEND_WINDOW_BUNDLES, Math.floor(SEND_WINDOW_BYTES / bundleBytes)));

const formatMegabytes = (bytes: number): string => `${(bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0)} MB`;
const formatRate = (perSec: number): string => (perSec >= 100 ? formatCount(perSec) : perSec.toFixed(1));
const formatMs = (ms: number): string => (ms < 10 ? `${ms.toFixed(2)} ms` : formatDuration(ms));
const percentOf = (part: number, whole: number): string => `${Math.round((100 * part) / whole)} %`;

/** Messages from a child process, in order, with a wait for the next one. */
class Inbox<Message> {
  readonly #queue: Message[] = [];
  #waiter: { resolve: (message: Message) => void; reject: (error: Error) => void } | undefined;
  #ended: Error | undefined;

  constructor(child: ChildProcess, name: string) {
    child.on('message', (message) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter === undefined) this.#queue.push(message as Message);
      else waiter.resolve(message as Message);
    });
    child.on('exit', (code, signal) => {
      this.#ended = new Error(`${name} exited (code ${code}, signal ${signal}) before answering`);
      this.#waiter?.reject(this.#ended);
      this.#waiter = undefined;
    });
  }

  next(): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/** The receiver's next message, which must be of `kind`. */
async function expectFrom<K extends FromReceiver['kind']>(inbox: Inbox<FromReceiver>, kind: K): Promise<Extract<FromReceiver, { kind: K }>> {
  const message = await inbox.next();
  if (message.kind === 'failed') throw new Error(`the DTN receiver failed: ${message.message}`);
  assert.equal(message.kind, kind, `expected ${kind} from the DTN receiver`);
  return message as Extract<FromReceiver, { kind: K }>;
}

interface SendRun {
  readonly bundles: number;
  readonly wallMs: number;
  /** From each send() call to its acknowledgement. */
  readonly ackLatenciesMs: readonly number[];
  /** Acknowledgements in each whole second of the run, in order (a partial last second is left out). */
  readonly acksPerSecond: readonly number[];
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
}

/**
 * Sends bundles through `cl` with `windowBundles` sends outstanding until `bundlesMax` were sent or
 * `seconds` passed, then waits for the outstanding ones. `bundleOf(i)` gives bundle number `i`
 * (encoded inside the window: a sender encodes while earlier bundles travel).
 */
async function sendRun(cl: Libp2pConvergenceLayer, peer: PeerAddress, bundleOf: (sequence: number) => Uint8Array,
  sequence: { next: number }, windowBundles: number, bundlesMax: number, seconds: number): Promise<SendRun> {
  const ackLatenciesMs: number[] = [];
  const elapsedMs = startStopwatch();
  const cpuAtStart = process.cpuUsage();
  const acksPerSecond: number[] = [];
  let sent = 0;
  const sender = async (): Promise<void> => {
    while (sent < bundlesMax && elapsedMs() < seconds * 1000) {
      sent += 1;
      const bundle = bundleOf(sequence.next++);
      const sinceSendMs = startStopwatch();
      await cl.send(peer, bundle);
      ackLatenciesMs.push(sinceSendMs());
      const second = Math.floor(elapsedMs() / 1000);
      while (acksPerSecond.length <= second) acksPerSecond.push(0);
      acksPerSecond[second]! += 1;
    }
  };
  await Promise.all(Array.from({ length: windowBundles }, sender));
  const wallMs = elapsedMs();
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    bundles: sent, wallMs, ackLatenciesMs, acksPerSecond: acksPerSecond.slice(0, Math.floor(wallMs / 1000)),
    cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000,
  };
}

interface PipelineRun {
  readonly send: SendRun;
  readonly receiver: ReceiverReport;
  readonly windowBundles: number;
  readonly bundleBytes: number;
}

/**
 * One run through the libp2p CL: a sender node in this process, the receiver (`mode`) in a child
 * process with its store in a fresh temporary directory, removed afterwards.
 */
async function runPipeline(mode: ReceiverMode, payloadCase: PayloadCase): Promise<PipelineRun> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-bench-dtn-'));
  const child = fork(RECEIVER_TS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const inbox = new Inbox<FromReceiver>(child, 'the DTN receiver');
  const exited = once(child, 'exit');
  let cl: Libp2pConvergenceLayer | undefined;
  try {
    const node = await createLibp2pNode({ identitySeed: SENDER_SEED, allowedPublicKeys: [] });
    const start: ToReceiver = {
      kind: 'start', mode, storePath: path.join(directory, 'bundles.sqlite'),
      identitySeedHex: hex(RECEIVER_SEED), senderPublicKeyHex: hex(node.publicKey),
    };
    child.send(start);
    const ready = await expectFrom(inbox, 'ready');
    await node.setAllowedPublicKeys([Buffer.from(ready.publicKeyHex, 'hex')]);
    cl = new Libp2pConvergenceLayer({ node, clock: new RealClock() });
    await cl.start(async () => ({ accepted: false, reason: 'the benchmark sender receives nothing' }));
    const peer: PeerAddress = { cl: 'libp2p', address: ready.address };

    const payload = benchPayload(payloadCase.payloadBytes, payloadCase.payloadBytes);
    const createdAtMs = new RealClock().now();
    // The CL alone carries one encoded bundle again and again; the agent's path encodes each.
    const fixed = encodeBenchBundle(payload, createdAtMs, 0);
    const bundleOf = mode === 'accept' ? () => fixed : (i: number) => encodeBenchBundle(payload, createdAtMs, i);
    const windowBundles = windowBundlesFor(fixed.byteLength);
    const sequence = { next: 0 };

    await sendRun(cl, peer, bundleOf, sequence, windowBundles, 2 * windowBundles, WARMUP_SECONDS);
    child.send({ kind: 'reset' } satisfies ToReceiver);
    await expectFrom(inbox, 'reset-done');
    const seconds = mode === 'accept' ? CL_ALONE_SECONDS : PIPELINE_SECONDS;
    const send = await sendRun(cl, peer, bundleOf, sequence, windowBundles, payloadCase.bundlesMax, seconds);

    // The sender first: a node that stops while its peer is closing their connection waits out a timeout.
    await cl.stop();
    cl = undefined;
    child.send({ kind: 'stop' } satisfies ToReceiver);
    const { report } = await expectFrom(inbox, 'stopped');
    await exited;
    assert.equal(report.bundlesHandled, send.bundles, 'the receiver handled every bundle sent in the timed run');
    if (mode !== 'accept') assert.equal(report.bundlesStored, send.bundles, 'the receiver stored every bundle sent in the timed run');
    return { send, receiver: report, windowBundles, bundleBytes: fixed.byteLength };
  } finally {
    await cl?.stop();
    if (child.exitCode === null && child.signalCode === null) child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
}

interface LocalRun {
  readonly bundlesPerSec: number;
  readonly detail: string;
}

/**
 * `put` one bundle at a time (`batchBundles` 1) or `putAll` batches into one store, timing only the
 * store's calls: STORE_RUNS runs of STORE_RUN_SECONDS of calls each, the median run reported.
 */
function runStoreAlone(payloadCase: PayloadCase, batchBundles: number): LocalRun {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-bench-dtn-'));
  try {
    const store = BundleStore.open(path.join(directory, 'bundles.sqlite'), BENCH_STORE_OPTIONS);
    const payload = benchPayload(payloadCase.payloadBytes, payloadCase.payloadBytes);
    const createdAtMs = new RealClock().now();
    let sequence = 0;
    const batchOnce = (): number => {
      const batch: BundleToPut[] = [];
      for (let i = 0; i < batchBundles; i += 1) {
        const bytes = encodeBenchBundle(payload, createdAtMs, sequence++);
        batch.push({ bundle: storeEntryOf(decodeBundle(bytes)), bytes });
      }
      const elapsedMs = startStopwatch();
      const results = batchBundles === 1 ? [store.put(batch[0]!.bundle, batch[0]!.bytes)] : store.putAll(batch);
      const ms = elapsedMs();
      assert.ok(results.every((r) => r.stored), 'every bundle is stored');
      return ms;
    };
    // Warm-up: the first commits create the tables' pages.
    for (let i = 0; i < 3; i += 1) batchOnce();
    const commitsMs: number[] = [];
    const runsPerSec: number[] = [];
    const bundlesPerRunMax = Math.max(batchBundles, Math.floor(payloadCase.bundlesMax / STORE_RUNS));
    for (let run = 0; run < STORE_RUNS; run += 1) {
      let timedMs = 0;
      let bundles = 0;
      while (bundles + batchBundles <= bundlesPerRunMax && timedMs < STORE_RUN_SECONDS * 1000) {
        const ms = batchOnce();
        commitsMs.push(ms);
        timedMs += ms;
        bundles += batchBundles;
      }
      runsPerSec.push(bundles / (timedMs / 1000));
    }
    store.close();
    return {
      bundlesPerSec: median(runsPerSec),
      detail: `${STORE_RUNS} runs of ${STORE_RUN_SECONDS} s of calls: ${runsPerSec.map(formatRate).join(', ')} bundles/s (median shown); ` +
        `${formatCount(sequence - 3 * batchBundles)} bundles, ${formatCount(commitsMs.length)} commits, ` +
        `median ${formatMs(median(commitsMs))}, p99 ${formatMs(percentile(commitsMs, 99))}`,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** makeBundle + encodeBundle, then decodeBundle, per bundle, timed apart. */
function runCodecAlone(payloadCase: PayloadCase): LocalRun {
  const payload = benchPayload(payloadCase.payloadBytes, payloadCase.payloadBytes);
  const createdAtMs = new RealClock().now();
  let encodeMs = 0;
  let decodeMs = 0;
  let bundles = 0;
  const once = (sequence: number): void => {
    const encodeElapsedMs = startStopwatch();
    const bytes = encodeBenchBundle(payload, createdAtMs, sequence);
    encodeMs += encodeElapsedMs();
    const decodeElapsedMs = startStopwatch();
    assert.equal(decodeBundle(bytes).payload.data.byteLength, payloadCase.payloadBytes);
    decodeMs += decodeElapsedMs();
  };
  for (let i = 0; i < 10; i += 1) once(i);
  encodeMs = 0;
  decodeMs = 0;
  while (bundles < payloadCase.bundlesMax && encodeMs + decodeMs < CODEC_SECONDS * 1000) once(bundles++);
  return {
    bundlesPerSec: bundles / ((encodeMs + decodeMs) / 1000),
    detail: `${formatCount(bundles)} bundles in ${formatDuration(encodeMs + decodeMs)} of calls; ` +
      `per bundle: encode ${formatMs(encodeMs / bundles)}, decode ${formatMs(decodeMs / bundles)}`,
  };
}

function pipelineRow(caseLabel: string, pipeline: string, payloadBytes: number, run: PipelineRun): DtnRow {
  const { send, receiver } = run;
  const perSec = send.bundles / (send.wallMs / 1000);
  const wall = send.wallMs;
  const receiverCpuMs = receiver.cpuUserMs + receiver.cpuSystemMs;
  const parts = [
    `${formatCount(send.bundles)} bundles in ${formatDuration(wall)}, window ${run.windowBundles}` +
      (send.acksPerSecond.length > 1 ? ` (per second: ${send.acksPerSecond.map(formatCount).join(', ')})` : ''),
    `ack latency median ${formatMs(median(send.ackLatenciesMs))}, p99 ${formatMs(percentile(send.ackLatenciesMs, 99))}`,
    `CPU: sender ${percentOf(send.cpuUserMs + send.cpuSystemMs, wall)}, receiver ${percentOf(receiverCpuMs, wall)}`,
  ];
  if (receiver.commits > 0) {
    parts.push(
      `receiver time in decode ${percentOf(receiver.decodeMsTotal, wall)}, in store ${percentOf(receiver.storeMsTotal, wall)}; ` +
        `${formatCount(receiver.commits)} commits (${(receiver.bundlesStored / receiver.commits).toFixed(1)} bundles each), ` +
        `median ${formatMs(receiver.commitMsMedian)}, p99 ${formatMs(receiver.commitMsP99)}`,
    );
  }
  if (receiver.maxRssBytes !== undefined) parts.push(`receiver peak RSS ${formatMegabytes(receiver.maxRssBytes)}`);
  const problems = Object.entries(receiver.clEvents).filter(([event]) => event !== 'libp2p-cl.session-closed');
  if (problems.length > 0) parts.push(`CL events: ${problems.map(([event, n]) => `${event} ×${n}`).join(', ')}`);
  return {
    caseLabel, pipeline, bundlesPerSec: formatRate(perSec), megabytesPerSec: formatRate((perSec * payloadBytes) / MB), details: parts.join('; '),
  };
}

function localRow(caseLabel: string, pipeline: string, payloadBytes: number, run: LocalRun): DtnRow {
  const perSec = run.bundlesPerSec;
  return { caseLabel, pipeline, bundlesPerSec: formatRate(perSec), megabytesPerSec: formatRate((perSec * payloadBytes) / MB), details: run.detail };
}

/** Runs the memory probe (dtn-store-memory.ts) in a new process with `args` and returns its one answer. */
async function probeMemory<Answer>(args: readonly (string | number)[]): Promise<Answer> {
  const child = fork(STORE_MEMORY_TS, args.map(String), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
  const inbox = new Inbox<Answer>(child, 'the store memory probe');
  const exited = once(child, 'exit');
  const answer = await inbox.next();
  const [code] = await exited;
  assert.equal(code, 0, 'the store memory probe exits cleanly');
  return answer;
}

interface StoreMemory {
  readonly fill: StoreMemoryReport;
  /** A new process that opened the empty store, and one that opened the filled store. */
  readonly emptyOpened: MemorySample;
  readonly filledOpened: MemorySample;
}

async function runStoreMemory(): Promise<StoreMemory> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'orbitfed-bench-dtn-'));
  try {
    const filledPath = path.join(directory, 'filled.sqlite');
    const emptyPath = path.join(directory, 'empty.sqlite');
    const fill = await probeMemory<StoreMemoryReport>(['fill', filledPath, MEMORY_PAYLOAD_BYTES, MEMORY_BATCH_BUNDLES, ...MEMORY_SAMPLE_BUNDLES]);
    // The first open creates the empty store; the second opens it as the filled one is opened.
    await probeMemory<MemorySample>(['open', emptyPath, 0]);
    const emptyOpened = await probeMemory<MemorySample>(['open', emptyPath, 0]);
    const filledOpened = await probeMemory<MemorySample>(['open', filledPath, fill.closed.storedBundles]);
    return { fill, emptyOpened, filledOpened };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** `+3.8 MB`, `+120 kB`, `−4 kB`: a change in bytes, decimal units. */
function formatBytesChange(bytes: number): string {
  const sign = bytes < 0 ? '−' : '+';
  const size = Math.abs(bytes);
  return size >= MB ? `${sign}${(size / MB).toFixed(1)} MB` : `${sign}${formatCount(size / 1000)} kB`;
}

function memoryRow(baseline: MemorySample, sample: MemorySample, label = formatCount(sample.storedBundles)): DtnMemoryRow {
  const n = sample.storedBundles;
  const grew = (after: number, before: number): string => {
    const perBundle = (after - before) / n;
    const perBundleText = Math.abs(perBundle) < 10 ? Math.abs(perBundle).toFixed(1) : formatCount(Math.abs(perBundle));
    return `${formatBytesChange(after - before)} (${perBundle < 0 ? '−' : '+'}${perBundleText} B / bundle)`;
  };
  return {
    storedBundles: label,
    rssGrowth: grew(sample.rssBytes, baseline.rssBytes),
    heapGrowth: grew(sample.heapUsedBytes, baseline.heapUsedBytes),
    externalGrowth: grew(sample.externalBytes, baseline.externalBytes),
    disk: `${formatMegabytes(sample.diskBytes)} (${formatCount(sample.diskBytes / n)} B / bundle)`,
  };
}

export async function runDtnCases(input: DtnCasesInput): Promise<DtnCasesResult> {
  const rows: DtnRow[] = [];
  const bundleBytes: string[] = [];
  for (const payloadCase of PAYLOAD_CASES) {
    const { label, payloadBytes } = payloadCase;
    const caseLabel = `${label} payloads`;
    input.progress(`DTN ${label}: CL + decode + put, receiver in a child process, ${PIPELINE_SECONDS} s`);
    const stored = await runPipeline('store', payloadCase);
    bundleBytes.push(`${label}: ${formatCount(stored.bundleBytes)} B`);
    rows.push(pipelineRow(caseLabel, 'libp2p CL → decode → store.put, ack after commit (the agent\'s path)', payloadBytes, stored));
    input.progress(`DTN ${label}: CL + decode + putAll per turn, ${PIPELINE_SECONDS} s`);
    rows.push(pipelineRow(caseLabel, 'the same, one putAll per event-loop turn (group commit)', payloadBytes, await runPipeline('store-grouped', payloadCase)));
    input.progress(`DTN ${label}: CL alone, ${CL_ALONE_SECONDS} s`);
    rows.push(pipelineRow(caseLabel, 'reference: libp2p CL alone (handler accepts at once)', payloadBytes, await runPipeline('accept', payloadCase)));
    input.progress(`DTN ${label}: store alone, put and putAll, ${STORE_RUNS} × ${STORE_RUN_SECONDS} s each`);
    rows.push(localRow(caseLabel, 'reference: store alone, put (one commit each)', payloadBytes, runStoreAlone(payloadCase, 1)));
    const putAllBundles = windowBundlesFor(stored.bundleBytes);
    rows.push(localRow(caseLabel, `reference: store alone, putAll of ${putAllBundles}`, payloadBytes, runStoreAlone(payloadCase, putAllBundles)));
    input.progress(`DTN ${label}: codec alone`);
    rows.push(localRow(caseLabel, 'reference: BPv7 codec alone, encode + decode', payloadBytes, runCodecAlone(payloadCase)));
  }

  input.progress(`DTN: store memory, ${MEMORY_SAMPLE_BUNDLES.map(formatCount).join(' and ')} bundles of 1 KB, in a child process`);
  const memory = await runStoreMemory();
  const { fill } = memory;
  const memoryRows = [
    ...fill.samples.map((sample) => memoryRow(fill.baseline, sample, `${formatCount(sample.storedBundles)}, putting`)),
    memoryRow(fill.baseline, fill.closed, `${formatCount(fill.closed.storedBundles)}, putting, then the store closed`),
    memoryRow(memory.emptyOpened, memory.filledOpened, `${formatCount(memory.filledOpened.storedBundles)}, reopened by a new process`),
  ];

  const notes = [
    `Bundles: real BPv7 bundles (makeBundle + encodeBundle, dtn/): ipn:1.1 → ipn:3.1, CRC-32C on the primary block, a 24 h lifetime, ` +
      `one creation time per run and a new sequence number per bundle, so every bundle is a new identity; payloads of seeded ` +
      `pseudo-random bytes. Encoded sizes: ${bundleBytes.join(', ')}. **MB/s** counts payload bytes, 1 MB = 10^6 bytes; ` +
      `**bundles/s** and MB/s are over the wall time from the first send to the last acknowledgement (CL rows) or over the ` +
      `time inside the timed calls (store and codec rows).`,
    `CL rows: two libp2p nodes on 127.0.0.1 (TCP, noise, yamux; dtn/libp2p-node.ts) with the libp2p CL's defaults (64 bundles, ` +
      `32 MiB window per session). The sender runs in the benchmark's process and keeps a window of sends outstanding ` +
      `(${SEND_WINDOW_BUNDLES} bundles, at most ${SEND_WINDOW_BYTES / 1024 / 1024} MiB of them), encoding each bundle as it goes; ` +
      `the receiver is a child process (bench/dtn-receiver.ts), as a second agent would be, so each side has its own event loop. ` +
      `The receiver's handler decodes the bundle (decodeBundle), derives its store entry (bundleKey, destination, expiry) and puts ` +
      `it into a BundleStore in a fresh temporary directory in ${os.tmpdir()} (${fileSystemOf(os.tmpdir()) ?? 'file system unknown'}) ` +
      `with the store's defaults (WAL, synchronous=FULL: ` +
      `every commit is fsynced) and only then accepts, so each acknowledgement means "on disk". With group commit the handler ` +
      `waits for the end of the event-loop turn and puts all the bundles decoded in it with one putAll. The CL-alone row sends ` +
      `one pre-encoded bundle repeatedly and its handler accepts at once. Each run: ${WARMUP_SECONDS} s of untimed sends (the ` +
      `session opens, code warms up), then ${PIPELINE_SECONDS} s of sends (${CL_ALONE_SECONDS} s for the CL alone) or the case's ` +
      `bundle cap, whichever comes first, and the outstanding sends are awaited. Ack latency is from send() to its ` +
      `acknowledgement. CPU is user + system time over the wall time, per process (100 % = one core). The receiver's times ` +
      `in decode and in store are shares of the same wall time. Receiver peak RSS is its process's high-water mark (VmHWM), ` +
      `warm-up included.`,
    `Store rows: BundleStore in this process, fresh temporary directory, same defaults; each bundle is encoded and decoded ` +
      `outside the clock and only put / putAll is timed: 3 untimed commits, then ${STORE_RUNS} runs of ${STORE_RUN_SECONDS} s ` +
      `of timed calls into the same store, and the median run is shown (all three are in the details). putAll batches are ` +
      `one send window (64 bundles, or 6 of 10 MB), the most a group commit can gather. Codec row: makeBundle + encodeBundle, ` +
      `then decodeBundle, of each bundle, timed apart, for ${CODEC_SECONDS} s of timed calls after 10 untimed bundles. Every run ` +
      `is also capped in bundles (${PAYLOAD_CASES.map((c) => `${c.label}: ${formatCount(c.bundlesMax)}`).join(', ')}), ` +
      `which bounds the disk it fills; the caps were not reached here unless the counts say so.`,
    `Memory, rows "putting": a child process (bench/dtn-store-memory.ts, node --expose-gc) first fills and deletes a scratch ` +
      `store of 1,000 bundles (so Node's and SQLite's code is loaded), opens a new store, collects garbage and takes the ` +
      `baseline (${formatMegabytes(fill.baseline.rssBytes)} RSS, ${formatMegabytes(fill.baseline.heapUsedBytes)} JS heap: Node ` +
      `with everything dtn/index.ts loads, libp2p included, and one open, empty store); then puts bundles of ` +
      `${formatCount(MEMORY_PAYLOAD_BYTES)} B payloads, each encoded, decoded and put as a receiving agent does (putAll of ` +
      `${MEMORY_BATCH_BUNDLES}, one commit each), and after ${MEMORY_SAMPLE_BUNDLES.map(formatCount).join(' and after ')} ` +
      `stored bundles collects garbage and samples again, and once more after closing the store. Row "reopened": a new ` +
      `process opens the filled store (opening counts its totals) and holds it open, collects garbage and samples; its ` +
      `growth is over a new process that did the same with an empty store (${formatMegabytes(memory.emptyOpened.rssBytes)} ` +
      `RSS). RSS is process.memoryUsage().rss, JS heap is ` +
      `heapUsed, external is memory V8 tracks outside its heap (Buffers); per bundle is the growth over the stored bundles. ` +
      `Disk is the store file plus its WAL.`,
    `fsync latency on this shared VM changes within seconds (dtn/bundle-store.ts measured 280–5,900 commits/s of 1 KB bundles ` +
      `on this machine class), so the rows that commit once per bundle vary most between and within runs: the per-second ` +
      `counts of the CL rows and the three runs of the store rows show it, and the commit medians say what fsync cost at the time. ` +
      `The rows of one size ran back to back, in the order shown.`,
  ];
  return { rows, memoryRows, notes };
}

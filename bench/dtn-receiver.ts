// The receiving agent of the DTN cases, as its own process (forked by dtn-cases.ts): a libp2p node
// with the libp2p convergence layer on 127.0.0.1 whose bundle handler, depending on the mode,
//   store          decodes the bundle (decodeBundle), puts it into a BundleStore (one commit, one
//                  fsync, per bundle) and only then accepts, so the acknowledgement means "stored";
//   store-grouped  decodes, then puts every bundle that arrived in the same event-loop turn with one
//                  putAll (one commit for the group) and accepts each once that commit returned;
//   accept         accepts at once, without decoding or storing: the CL alone.
// A process of its own because two agents are two processes: the sender's encryption and the
// receiver's decryption, decoding and synchronous SQLite commits each get their own event loop and
// core, as they would on two machines. The parent speaks to it over the IPC channel (messages below).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { RealClock } from '../common/index.ts';
import {
  BUNDLE_STORE_BATCH_MAX, BundleStore, type BundleToPut, type BundleVerdict, createLibp2pNode, decodeBundle,
  Libp2pConvergenceLayer, type PutResult,
} from '../dtn/index.ts';
import { BENCH_STORE_OPTIONS, storeEntryOf } from './dtn-bundles.ts';
import { median, percentile, startStopwatch } from './timing.ts';

export type ReceiverMode = 'store' | 'store-grouped' | 'accept';

export type ToReceiver =
  | { readonly kind: 'start'; readonly mode: ReceiverMode; readonly storePath: string; readonly identitySeedHex: string; readonly senderPublicKeyHex: string }
  /** The timed part starts: counters restart from zero. */
  | { readonly kind: 'reset' }
  | { readonly kind: 'stop' };

/** What the receiver measured since the last `reset`. */
export interface ReceiverReport {
  readonly bundlesHandled: number;
  readonly bundlesStored: number;
  readonly duplicates: number;
  /** Refusals by the store (full, expired, too large); a handler that threw shows in `clEvents` as handler-failed. */
  readonly refused: number;
  /** Store commits (put or putAll calls) and their wall times. */
  readonly commits: number;
  readonly commitMsMedian: number;
  readonly commitMsP99: number;
  readonly decodeMsTotal: number;
  readonly storeMsTotal: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** The process's peak resident set since it started (VmHWM), undefined off Linux. */
  readonly maxRssBytes: number | undefined;
  /** CL log events by name (violations, handler failures, dropped answers). */
  readonly clEvents: Readonly<Record<string, number>>;
}

export type FromReceiver =
  | { readonly kind: 'ready'; readonly address: string; readonly publicKeyHex: string }
  | { readonly kind: 'reset-done' }
  | { readonly kind: 'stopped'; readonly report: ReceiverReport }
  | { readonly kind: 'failed'; readonly message: string };

const ACCEPT: BundleVerdict = { accepted: true };

/**
 * The peak resident set of this process image, from /proc/self/status. Not getrusage's maxRSS:
 * Linux carries that over from the parent through fork and exec, so a child would report the
 * benchmark's own peak.
 */
function peakRssBytes(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

function reply(message: FromReceiver): void {
  assert.ok(process.send !== undefined, 'dtn-receiver.ts runs as a forked child of dtn-cases.ts');
  process.send(message);
}

class Counters {
  bundlesHandled = 0;
  bundlesStored = 0;
  duplicates = 0;
  refused = 0;
  commitsMs: number[] = [];
  decodeMsTotal = 0;
  storeMsTotal = 0;
  cpuAtStart = process.cpuUsage();
  clEvents: Record<string, number> = {};
}

const verdictOf = (result: PutResult, counters: Counters): BundleVerdict => {
  if (result.stored) {
    counters.bundlesStored += 1;
    return ACCEPT;
  }
  // A duplicate is already safe here: acknowledge it again (dtn/README.md).
  if (result.reason === 'duplicate') {
    counters.duplicates += 1;
    return ACCEPT;
  }
  counters.refused += 1;
  return { accepted: false, reason: result.reason };
};

async function start(message: Extract<ToReceiver, { kind: 'start' }>): Promise<void> {
  let counters = new Counters();
  const store = message.mode === 'accept' ? undefined : BundleStore.open(message.storePath, BENCH_STORE_OPTIONS);
  const node = await createLibp2pNode({
    identitySeed: Buffer.from(message.identitySeedHex, 'hex'),
    allowedPublicKeys: [Buffer.from(message.senderPublicKeyHex, 'hex')],
  });
  const cl = new Libp2pConvergenceLayer({
    node,
    clock: new RealClock(),
    log: (event) => {
      counters.clEvents[event] = (counters.clEvents[event] ?? 0) + 1;
    },
  });

  /** Decodes as the agent does on receipt (RFC 9171 §5.6): a bundle that does not decode is refused by the throw. */
  const decode = (bytes: Uint8Array): BundleToPut => {
    const elapsedMs = startStopwatch();
    const entry = { bundle: storeEntryOf(decodeBundle(bytes)), bytes };
    counters.decodeMsTotal += elapsedMs();
    return entry;
  };
  const commit = (entries: readonly BundleToPut[]): PutResult[] => {
    assert.ok(store !== undefined);
    const elapsedMs = startStopwatch();
    const results = store.putAll(entries);
    const ms = elapsedMs();
    counters.commitsMs.push(ms);
    counters.storeMsTotal += ms;
    return results;
  };

  // store-grouped: the bundles decoded in one turn, committed together right after it.
  let group: { readonly entry: BundleToPut; readonly resolve: (verdict: BundleVerdict) => void; readonly reject: (error: unknown) => void }[] = [];
  const flushGroup = (): void => {
    const pending = group;
    group = [];
    // The CL's window (64 bundles per session) keeps a group far below the store's batch limit.
    assert.ok(pending.length <= BUNDLE_STORE_BATCH_MAX, `a group of ${pending.length} bundles`);
    try {
      const results = commit(pending.map((p) => p.entry));
      pending.forEach((p, i) => p.resolve(verdictOf(results[i]!, counters)));
    } catch (error) {
      for (const p of pending) p.reject(error);
    }
  };

  await cl.start(async (bytes) => {
    counters.bundlesHandled += 1;
    if (message.mode === 'accept') return ACCEPT;
    const entry = decode(bytes);
    if (message.mode === 'store') return verdictOf(commit([entry])[0]!, counters);
    return new Promise<BundleVerdict>((resolve, reject) => {
      group.push({ entry, resolve, reject });
      if (group.length === 1) setImmediate(flushGroup);
    });
  });

  process.on('message', (next: ToReceiver) => {
    if (next.kind === 'reset') {
      counters = new Counters();
      reply({ kind: 'reset-done' });
      return;
    }
    if (next.kind !== 'stop') return;
    void (async () => {
      await cl.stop();
      store?.close();
      const cpu = process.cpuUsage(counters.cpuAtStart);
      const commitsMs = counters.commitsMs;
      reply({
        kind: 'stopped',
        report: {
          bundlesHandled: counters.bundlesHandled,
          bundlesStored: counters.bundlesStored,
          duplicates: counters.duplicates,
          refused: counters.refused,
          commits: commitsMs.length,
          commitMsMedian: commitsMs.length === 0 ? 0 : median(commitsMs),
          commitMsP99: commitsMs.length === 0 ? 0 : percentile(commitsMs, 99),
          decodeMsTotal: counters.decodeMsTotal,
          storeMsTotal: counters.storeMsTotal,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          maxRssBytes: peakRssBytes(),
          clEvents: counters.clEvents,
        },
      });
      process.disconnect();
    })();
  });
  reply({ kind: 'ready', address: node.addresses()[0]!, publicKeyHex: Buffer.from(node.publicKey).toString('hex') });
}

process.once('message', (message: ToReceiver) => {
  assert.equal(message.kind, 'start', 'the first message to the receiver is start');
  start(message as Extract<ToReceiver, { kind: 'start' }>).catch((error: unknown) => {
    reply({ kind: 'failed', message: (error as Error).stack ?? String(error) });
    process.exitCode = 1;
    process.disconnect();
  });
});

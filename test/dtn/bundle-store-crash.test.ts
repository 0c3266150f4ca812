// The bundle store's crash test (ARCHITECTURE, "Durability": every store has one). A writer
// process (bundle-store-crash-writer.ts) works one store file as fast as it can and is killed with
// SIGKILL at a random instant, hundreds of times; after each kill the store is reopened here and
// checked against a model built from what the writer had acknowledged:
// - every bundle acknowledged as stored, and not acknowledged as forwarded, delivered or expired,
//   is there with the same metadata and the same bytes; nothing else is there;
// - nothing acknowledged as delivered can be delivered again: its key is remembered (until its
//   lifetime ends), a retransmission of it is refused as a duplicate, and no key is acknowledged as
//   delivered twice over the whole run;
// - SQLite's integrity_check passes, every payload matches its CRC, the totals match the rows, and
//   nothing is in flight after a restart.
// An operation the kill interrupted (a TRY line without its ACK) may have happened or not; the
// reopened store says which, and the model follows it.
//
// What this does not show: SIGKILL ends the process but not the machine, so the OS page cache
// survives and writes that were never fsynced still reach the disk. Power loss is covered by
// SQLite's commit protocol instead: with journal_mode=WAL and synchronous=FULL the WAL is fsynced
// before COMMIT returns (https://sqlite.org/pragma.html#pragma_synchronous), so an acknowledged
// transaction is on the device; an un-synced tail of the WAL is discarded at recovery because each
// frame carries a checksum chained over the frames before it (https://sqlite.org/fileformat2.html,
// "The WAL File Format"). Testing that for real needs a filesystem that drops un-synced writes
// (e.g. LazyFS) or a VM power cut.
//
// Replay: the test prints its seed; BUNDLE_STORE_CRASH_SEED=<seed> replays the same writers'
// operations and kill delays (the instants still vary with scheduling), BUNDLE_STORE_CRASH_KILLS
// changes the number of kills (default 300).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRng, unixMs, VirtualClock } from '../../common/index.ts';
import { BundleStore, type StoredBundle } from '../../dtn/bundle-store.ts';
import { CRASH_EPOCH_MS, CRASH_STORE_OPTIONS, CRASH_WRITER_SPAN_MS, crashBundle } from './bundle-store-crash-bundles.ts';

const WRITER = fileURLToPath(new URL('./bundle-store-crash-writer.ts', import.meta.url));
const KILLS = Number(process.env.BUNDLE_STORE_CRASH_KILLS ?? 300);
const SEED = Number(process.env.BUNDLE_STORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Share of kills aimed at the writer's start-up (opening the store, WAL recovery) rather than its work. */
const EARLY_KILL_SHARE = 0.1;
/** After the writer is ready, it is killed within this many ms (it does a few operations per ms). */
const KILL_WINDOW_MS = 40;

type KeyState = 'stored' | 'forwarded' | 'delivered' | 'expired' | 'absent';
type Pending = 'put' | 'fwd' | 'dlv' | 'exp';

interface KeyModel {
  state: KeyState;
  pending: Pending | undefined;
  readonly expiresAtMs: number;
}

/** What the writers have acknowledged so far, and what may or may not have happened at the last kill. */
class Model {
  readonly keys = new Map<string, KeyModel>();
  readonly deliveryAcks = new Map<string, number>();
  readonly violations: string[] = [];
  /** Delivered keys whose bundles expired at or before this may have been forgotten by `expire`. */
  forgetUpToMs = -Infinity;
  acks = 0;
  duplicateRetransmissionsOfDelivered = 0;

  #key(key: string): KeyModel {
    let model = this.keys.get(key);
    if (model === undefined) {
      model = { state: 'absent', pending: undefined, expiresAtMs: crashBundle(SEED, key).bundle.expiresAtMs };
      this.keys.set(key, model);
    }
    return model;
  }

  /** Applies one line of writer output. */
  apply(line: string): void {
    const [verb, op, key, extra] = line.split(' ');
    if (verb === 'READY' || verb === 'DONE' || line === '') return;
    if (verb === 'BAD') {
      this.violations.push(`writer: ${line}`);
      return;
    }
    if (op === 'exp' || op === 'expdone') {
      this.#applyExpire(verb!, op, key!);
      return;
    }
    const model = this.#key(key!);
    if (verb === 'TRY') {
      model.pending = op as Pending;
      return;
    }
    model.pending = undefined;
    if (verb === 'NACK') return;
    this.acks += 1;
    if (op === 'put') this.#applyPut(key!, model, extra!);
    else if (op === 'fwd') {
      if (extra !== 'true') this.violations.push(`forwarded(${key}) found nothing to delete`);
      model.state = 'forwarded';
    } else if (op === 'dlv') {
      const count = (this.deliveryAcks.get(key!) ?? 0) + 1;
      this.deliveryAcks.set(key!, count);
      if (count > 1 || model.state === 'delivered') this.violations.push(`${key} was delivered to the application twice`);
      model.state = 'delivered';
    }
  }

  #applyPut(key: string, model: KeyModel, outcome: string): void {
    if (outcome === 'stored') {
      if (model.state === 'stored' || model.state === 'delivered') this.violations.push(`put of ${key} (${model.state}) stored it again instead of refusing a duplicate`);
      model.state = 'stored';
    } else if (outcome === 'duplicate') {
      if (model.state !== 'stored' && model.state !== 'delivered') this.violations.push(`put of ${key} (${model.state}) was refused as a duplicate`);
      if (model.state === 'delivered') this.duplicateRetransmissionsOfDelivered += 1;
    }
  }

  #applyExpire(verb: string, op: string, arg: string): void {
    if (verb === 'TRY') {
      const nowMs = Number(arg);
      this.forgetUpToMs = Math.max(this.forgetUpToMs, nowMs);
      for (const model of this.keys.values()) if (model.state === 'stored' && model.expiresAtMs <= nowMs) model.pending = 'exp';
    } else if (op === 'exp') {
      const model = this.#key(arg);
      if (model.state !== 'stored') this.violations.push(`expire removed ${arg}, which was ${model.state}`);
      model.state = 'expired';
      model.pending = undefined;
    } else {
      // `expire` returned: what it did not list is still stored.
      for (const model of this.keys.values()) if (model.pending === 'exp') model.pending = undefined;
    }
  }
}

/** Every bundle in the store, by key (nothing is in flight in a freshly opened store). */
function contents(store: BundleStore): Map<string, StoredBundle> {
  const all = [...store.listWaiting({ limit: 10_000 }), ...store.listDeliverable({ limit: 10_000 })];
  return new Map(all.map((bundle) => [bundle.key, bundle]));
}

/** Reopens the store after a kill, settles what the kill left open, and checks every promise. */
function checkAfterRestart(dbPath: string, model: Model, writerEndMs: number, rng: () => number): string[] {
  const problems: string[] = [...model.violations];
  model.violations.length = 0;
  // The clock is at the epoch so that the lists show every stored bundle, expired or not (expire()
  // removes expired bundles, the lists only hide them), and a retransmission is never 'expired'.
  const store = BundleStore.open(dbPath, { ...CRASH_STORE_OPTIONS, clock: new VirtualClock(unixMs(CRASH_EPOCH_MS)) });
  try {
    const present = contents(store);
    const stats = store.stats();
    if (stats.inFlight !== 0) problems.push(`${stats.inFlight} bundles in flight after a restart`);
    const verification = store.verify();
    if (!verification.ok) problems.push(...verification.problems.map((p) => `verify: ${p}`));
    let storedInModel = 0;
    const deliveredAlive: string[] = [];
    for (const [key, entry] of model.keys) {
      const status = present.has(key) ? 'stored' : store.keyStatus(key);
      // Settle an operation the kill interrupted: the store shows whether it happened.
      if (entry.pending !== undefined) {
        if (status === 'stored') entry.state = 'stored';
        else if (entry.pending === 'fwd') entry.state = 'forwarded';
        else if (entry.pending === 'dlv') entry.state = 'delivered';
        else if (entry.pending === 'exp') entry.state = 'expired';
        entry.pending = undefined;
      }
      if (entry.state === 'stored') {
        storedInModel += 1;
        const bundle = present.get(key);
        if (bundle === undefined) {
          problems.push(`${key} was acknowledged as stored but is ${status}`);
          continue;
        }
        const expected = crashBundle(SEED, key);
        if (bundle.destination !== expected.bundle.destination || bundle.priority !== expected.bundle.priority
          || bundle.expiresAtMs !== expected.bundle.expiresAtMs || bundle.state !== (expected.bundle.localDelivery ? 'local' : 'waiting')) {
          problems.push(`${key}: metadata differs from what was put: ${JSON.stringify(bundle)}`);
        }
        const bytes = store.read(bundle.id);
        if (bytes === undefined || Buffer.compare(bytes, expected.bytes) !== 0) problems.push(`${key}: bytes differ from what was put`);
      } else if (entry.state === 'delivered') {
        if (status === 'stored') problems.push(`${key} was delivered but is deliverable again`);
        else if (status === 'unknown' && entry.expiresAtMs > model.forgetUpToMs) problems.push(`${key} was delivered but its key is forgotten before its expiry`);
        else if (status === 'delivered' && entry.expiresAtMs > writerEndMs) deliveredAlive.push(key);
      } else if (status !== 'unknown') {
        problems.push(`${key} is ${status} but was ${entry.state}`);
      }
    }
    if (present.size !== storedInModel) problems.push(`store holds ${present.size} bundles, the acknowledgements account for ${storedInModel}`);
    let bytes = 0;
    for (const bundle of present.values()) bytes += bundle.sizeBytes;
    if (stats.bundles !== present.size || stats.bytes !== bytes) problems.push(`stats say ${stats.bundles} bundles / ${stats.bytes} B, rows say ${present.size} / ${bytes} B`);
    // A peer retransmitting a delivered bundle is told "duplicate" (and the store does not change).
    for (let i = 0; i < 3 && deliveredAlive.length > 0; i += 1) {
      const key = deliveredAlive[Math.floor(rng() * deliveredAlive.length)]!;
      const { bundle, bytes: payload } = crashBundle(SEED, key);
      const result = store.put(bundle, payload);
      if (result.stored || result.reason !== 'duplicate') problems.push(`retransmission of delivered ${key} gave ${JSON.stringify(result)}`);
    }
  } finally {
    store.close();
  }
  // Forget keys that can never come back: every later writer's clock is past their expiry, so any
  // copy of them is refused as expired.
  for (const [key, entry] of model.keys) {
    if (entry.state !== 'stored' && entry.expiresAtMs <= writerEndMs) model.keys.delete(key);
  }
  return problems;
}

/** Keys for the next writer to store again, as a peer retransmitting would: delivered, stored and gone ones. */
function retransmissions(model: Model, rng: () => number): string[] {
  const byState = (state: KeyState): string[] => [...model.keys].filter(([, m]) => m.state === state).map(([key]) => key);
  const sample = (keys: string[], count: number): string[] => Array.from({ length: Math.min(count, keys.length) }, () => keys[Math.floor(rng() * keys.length)]!);
  return [...new Set([...sample(byState('delivered'), 12), ...sample(byState('stored'), 6), ...sample(byState('forwarded'), 6), ...sample(byState('absent'), 4)])];
}

interface WriterRun {
  readonly lines: string[];
  readonly killedMidOperation: boolean;
  readonly exitedByItself: boolean;
  readonly stderr: string;
}

/** Runs writer number `writer` and kills it with SIGKILL after a seeded random delay. */
async function runAndKill(dbPath: string, compileCache: string, writer: number, oldKeys: readonly string[], rng: () => number): Promise<WriterRun> {
  const startMs = CRASH_EPOCH_MS + writer * CRASH_WRITER_SPAN_MS;
  const child = spawn(process.execPath, [WRITER, dbPath, String(SEED), String(writer), String(startMs), oldKeys.join(',')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The compile cache keeps start-up to ~40 ms instead of ~120 ms (type stripping of every file).
    env: { ...process.env, NODE_COMPILE_CACHE: compileCache },
  });
  let stdout = '';
  let stderr = '';
  let ready: () => void = () => {};
  const isReady = new Promise<void>((resolve) => { ready = resolve; });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.startsWith('READY\n')) ready();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const early = rng() < EARLY_KILL_SHARE;
  const delayMs = early ? rng() * 60 : rng() * KILL_WINDOW_MS;
  if (!early) await Promise.race([isReady, exited]);
  await sleep(delayMs);
  child.kill('SIGKILL');
  const { code, signal } = await exited;
  // Only whole lines count: a line cut by the kill was never fully written, so never acknowledged.
  const lines = stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n').filter((line) => line !== '');
  const last = lines.at(-1) ?? '';
  return { lines, killedMidOperation: last.startsWith('TRY '), exitedByItself: signal !== 'SIGKILL' && code === 0, stderr: code !== 0 && signal === null ? stderr : '' };
}

describe('the bundle store under kill -9', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it(`loses nothing acknowledged and delivers nothing twice across ${KILLS} kills at random instants`, async () => {
    console.log(`bundle-store crash test: seed ${SEED}, ${KILLS} kills (replay: BUNDLE_STORE_CRASH_SEED=${SEED})`);
    dir = await mkdtemp(join(tmpdir(), 'orbitfed-bundle-store-crash-'));
    const dbPath = join(dir, 'bundles.db');
    const compileCache = join(dir, 'compile-cache');
    const rng = seededRng(SEED);
    const model = new Model();
    const started = performance.now();
    let midOperation = 0;
    let killed = 0;
    for (let writer = 0; writer < KILLS; writer += 1) {
      const run = await runAndKill(dbPath, compileCache, writer, retransmissions(model, rng), rng);
      expect(run.stderr, `writer ${writer} failed (seed ${SEED})`).toBe('');
      if (!run.exitedByItself) killed += 1;
      if (run.killedMidOperation) midOperation += 1;
      for (const line of run.lines) model.apply(line);
      const writerEndMs = CRASH_EPOCH_MS + (writer + 1) * CRASH_WRITER_SPAN_MS - 1;
      const problems = checkAfterRestart(dbPath, model, writerEndMs, rng);
      expect(problems, `after killing writer ${writer} (seed ${SEED})`).toEqual([]);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`bundle-store crash test: ${killed} kills (${midOperation} between an operation's start and its acknowledgement), `
      + `${model.acks} acknowledgements checked, ${model.duplicateRetransmissionsOfDelivered} retransmissions of delivered bundles refused, ${seconds.toFixed(1)} s`);
    expect(killed).toBeGreaterThan(KILLS * 0.9);
    expect(model.acks).toBeGreaterThan(KILLS);
  });
});

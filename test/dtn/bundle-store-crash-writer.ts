// The process the crash test kills (bundle-store-crash.test.ts). It opens the store and works it
// like an agent would, as fast as it can, until SIGKILL: stores new bundles, stores again bundles
// it was given (retransmissions by a peer), sends and forwards, delivers to "the application",
// expires. Around every operation it writes one line to stdout with a synchronous write:
//   TRY <op> <key>        before the call: from here on the operation may or may not happen;
//   ACK <op> <key> [...]  after the call returned: what a peer or the application was told;
//   NACK <op> <key>       the operation certainly did not happen.
// A line is written only after the call returned, so an ACK is exactly an acknowledgement.
// Usage: node bundle-store-crash-writer.ts <db> <seed> <writer> <startMs> <old keys, comma-separated>
import { writeSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { durationMs, seededRng, unixMs, VirtualClock } from '../../common/index.ts';
import { BundleStore, type PutResult, type StoredBundle } from '../../dtn/bundle-store.ts';
import { CRASH_LINK, CRASH_LOCAL_NODE, CRASH_STEP_MS, CRASH_STORE_OPTIONS, CRASH_WRITER_OPS_MAX, crashBundle, crashKey } from './bundle-store-crash-bundles.ts';

const [dbPath, seedText, writerText, startText, oldKeysText] = process.argv.slice(2);
const seed = Number(seedText);
const writer = Number(writerText);
const oldKeys = oldKeysText === undefined || oldKeysText === '' ? [] : oldKeysText.split(',');
const rng = seededRng((seed + Math.imul(writer, 0x9e3779b1)) >>> 0);
const clock = new VirtualClock(unixMs(Number(startText)));

function say(text: string): void {
  writeSync(1, `${text}\n`);
}

function bad(message: string): never {
  say(`BAD ${message}`);
  process.exit(3);
}

function outcome(result: PutResult): string {
  return result.stored ? 'stored' : result.reason;
}

// A killed process never writes its compile cache at exit; write it now, so the next writer starts
// in ~40 ms instead of ~120 ms (the test sets NODE_COMPILE_CACHE).
flushCompileCache();
const store = BundleStore.open(dbPath!, { ...CRASH_STORE_OPTIONS, clock });
say('READY');

let seq = 0;
const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[Math.floor(rng() * items.length)]);

function putNew(): void {
  const count = 1 + Math.floor(rng() * 4);
  const keys = Array.from({ length: count }, () => crashKey(writer, clock.now(), seq++));
  say(keys.map((key) => `TRY put ${key}`).join('\n'));
  const results = store.putAll(keys.map((key) => crashBundle(seed, key)));
  say(keys.map((key, i) => `ACK put ${key} ${outcome(results[i]!)}`).join('\n'));
}

function putAgain(): void {
  const key = pick(oldKeys);
  if (key === undefined) return;
  say(`TRY put ${key}`);
  const { bundle, bytes } = crashBundle(seed, key);
  say(`ACK put ${key} ${outcome(store.put(bundle, bytes))}`);
}

function forward(): void {
  const waiting = store.listWaiting({ limit: 1 + Math.floor(rng() * 6) });
  for (const bundle of waiting) {
    const bytes = store.startSending(bundle.id, CRASH_LINK);
    if (bytes === undefined) bad(`startSending(${bundle.id}) of a listed bundle returned nothing`);
    const expected = crashBundle(seed, bundle.key).bytes;
    if (Buffer.compare(bytes, expected) !== 0) bad(`bytes of ${bundle.key} differ from what was put`);
    const fate = rng();
    if (fate < 0.7) {
      say(`TRY fwd ${bundle.key}`);
      say(`ACK fwd ${bundle.key} ${store.forwarded(bundle.id)}`);
    } else if (fate < 0.9) {
      store.sendFailed(bundle.id);
    }
    // Otherwise the bundle stays in flight: the kill or a later linkDown puts it back.
  }
}

function deliverInTransaction(): void {
  const consumed: StoredBundle[] = [];
  const refuseAt = rng() < 0.1 ? Math.floor(rng() * 3) : -1;
  try {
    store.takeForDelivery({ destination: CRASH_LOCAL_NODE, limit: 1 + Math.floor(rng() * 4) }, (bundle, bytes) => {
      say(`TRY dlv ${bundle.key}`);
      if (consumed.length === refuseAt) {
        say(`NACK dlv ${bundle.key}`);
        throw new Error('the application refuses this one');
      }
      if (Buffer.compare(bytes, crashBundle(seed, bundle.key).bytes) !== 0) bad(`delivered bytes of ${bundle.key} differ`);
      consumed.push(bundle);
    });
  } catch (error) {
    if ((error as Error).message !== 'the application refuses this one') throw error;
  }
  if (consumed.length > 0) say(consumed.map((bundle) => `ACK dlv ${bundle.key}`).join('\n'));
}

function deliverAfterReading(): void {
  const bundle = pick(store.listDeliverable({ destination: CRASH_LOCAL_NODE, limit: 5 }));
  if (bundle === undefined) return;
  const bytes = store.read(bundle.id);
  if (bytes === undefined || Buffer.compare(bytes, crashBundle(seed, bundle.key).bytes) !== 0) bad(`read of ${bundle.key} differs`);
  say(`TRY dlv ${bundle.key}`);
  say(store.markDelivered(bundle.id) ? `ACK dlv ${bundle.key}` : `NACK dlv ${bundle.key}`);
}

function expire(): void {
  const nowMs = clock.now();
  say(`TRY exp ${nowMs}`);
  const { expired } = store.expire({ limit: 20 });
  if (expired.length > 0) say(expired.map((bundle) => `ACK exp ${bundle.key}`).join('\n'));
  say(`ACK expdone ${nowMs}`);
}

for (let op = 0; op < CRASH_WRITER_OPS_MAX; op += 1) {
  const choice = rng();
  if (choice < 0.38) putNew();
  else if (choice < 0.48) putAgain();
  else if (choice < 0.68) forward();
  else if (choice < 0.7) store.linkDown(CRASH_LINK);
  else if (choice < 0.8) deliverInTransaction();
  else if (choice < 0.9) deliverAfterReading();
  else if (choice < 0.95) expire();
  else store.assignNextHop(store.listWaiting({ limit: 3 }).map((b) => b.id), rng() < 0.5 ? 'ipn:7.0' : undefined);
  clock.advance(durationMs(CRASH_STEP_MS));
}
store.close();
say('DONE');

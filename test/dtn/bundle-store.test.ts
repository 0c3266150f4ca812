// The durable bundle store (dtn/bundle-store.ts): duplicates, capacity, priorities, forwarding and
// delivery states, expiry, and what it does with files that are not healthy stores. Durability
// under kill -9 is bundle-store-crash.test.ts.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { durationMs, OrbitfedError, unixMs, VirtualClock } from '../../common/index.ts';
import {
  BUNDLE_KEY_LENGTH_MAX,
  BUNDLE_PRIORITY,
  BUNDLE_STORE_BATCH_MAX,
  BundleStore,
  type BundleStoreOptions,
  type BundleToStore,
} from '../../dtn/bundle-store.ts';
import { BUNDLE_STORE_SCHEMA_VERSION } from '../../dtn/bundle-store-database.ts';

const T0 = 1_780_000_000_000;
const HOUR_MS = 3_600_000;
const LOCAL = 'ipn:1.1';

let dir = '';
let fileNumber = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orbitfed-bundle-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const freshPath = (): string => join(dir, `store-${fileNumber++}.db`);

/** A bundle to forward (or, with `localDelivery`, to deliver here) that lives one hour from T0. */
function bundle(key: string, overrides: Partial<BundleToStore> = {}): BundleToStore {
  return { key, destination: 'ipn:2.1', localDelivery: false, priority: BUNDLE_PRIORITY.normal, expiresAtMs: unixMs(T0 + HOUR_MS), ...overrides };
}
const local = (key: string, overrides: Partial<BundleToStore> = {}): BundleToStore => bundle(key, { destination: LOCAL, localDelivery: true, ...overrides });
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The OrbitfedError `run` throws (failing the test when it throws something else or nothing). */
function thrown(run: () => unknown): OrbitfedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OrbitfedError);
    return error as OrbitfedError;
  }
  throw new Error('expected an OrbitfedError, nothing was thrown');
}

describe('BundleStore', () => {
  let clock: VirtualClock;
  let path: string;
  let store: BundleStore;
  const options = (extra: Partial<BundleStoreOptions> = {}): BundleStoreOptions => ({ capacityBytes: 1_000_000, capacityBundles: 100, clock, ...extra });
  const reopen = (extra: Partial<BundleStoreOptions> = {}): BundleStore => {
    store.close();
    store = BundleStore.open(path, options(extra));
    return store;
  };

  beforeEach(() => {
    clock = new VirtualClock(unixMs(T0));
    path = freshPath();
    store = BundleStore.open(path, options());
  });
  afterEach(() => store.close());

  describe('storing and duplicates', () => {
    it('keeps a stored bundle, bytes and metadata, across a reopen', () => {
      const put = store.put(bundle('a', { priority: BUNDLE_PRIORITY.expedited, nextHop: 'ipn:9.0' }), bytesOf('hello'));
      expect(put).toEqual({ stored: true, id: 1 });
      reopen();
      expect(store.get(1)).toEqual({
        id: 1, key: 'a', destination: 'ipn:2.1', state: 'waiting', priority: 2, nextHop: 'ipn:9.0',
        receivedAtMs: T0, expiresAtMs: T0 + HOUR_MS, sizeBytes: 5,
      });
      expect(Buffer.from(store.read(1)!).toString()).toBe('hello');
      expect(store.keyStatus('a')).toBe('stored');
      expect(store.get(2)).toBeUndefined();
      expect(store.read(2)).toBeUndefined();
    });

    it('refuses a second copy of a stored bundle as a duplicate, and stores nothing', () => {
      store.put(bundle('a'), bytesOf('first'));
      expect(store.put(bundle('a'), bytesOf('second copy'))).toEqual({ stored: false, reason: 'duplicate' });
      expect(store.stats()).toMatchObject({ bundles: 1, bytes: 5 });
      expect(Buffer.from(store.read(1)!).toString()).toBe('first');
    });

    it('refuses a retransmission of a delivered bundle as a duplicate until its lifetime ends', () => {
      const { id } = store.put(local('d', { expiresAtMs: unixMs(T0 + 10_000) }), bytesOf('x')) as { id: number };
      expect(store.markDelivered(id)).toBe(true);
      reopen();
      expect(store.keyStatus('d')).toBe('delivered');
      expect(store.put(local('d', { expiresAtMs: unixMs(T0 + 10_000) }), bytesOf('x'))).toEqual({ stored: false, reason: 'duplicate' });
      clock.advance(durationMs(10_000));
      expect(store.put(local('d', { expiresAtMs: unixMs(T0 + 10_000) }), bytesOf('x'))).toEqual({ stored: false, reason: 'expired' });
      expect(store.expire({ limit: 10 })).toEqual({ expired: [], deliveredKeysForgotten: 1, more: false });
      expect(store.keyStatus('d')).toBe('unknown');
    });

    it('stores a batch with one result per bundle, a key repeated in the batch being a duplicate', () => {
      const results = store.putAll([
        { bundle: bundle('a'), bytes: bytesOf('1') },
        { bundle: bundle('b', { expiresAtMs: unixMs(T0) }), bytes: bytesOf('2') },
        { bundle: bundle('a'), bytes: bytesOf('3') },
        { bundle: bundle('c'), bytes: bytesOf('4') },
      ]);
      expect(results).toEqual([
        { stored: true, id: 1 },
        { stored: false, reason: 'expired' },
        { stored: false, reason: 'duplicate' },
        { stored: true, id: 2 },
      ]);
      expect(store.stats()).toMatchObject({ bundles: 2, bytes: 2 });
    });

    it('answers an empty batch with no results and refuses a batch over the limit', () => {
      expect(store.putAll([])).toEqual([]);
      const tooMany = Array.from({ length: BUNDLE_STORE_BATCH_MAX + 1 }, (_, i) => ({ bundle: bundle(`k${i}`), bytes: bytesOf('x') }));
      expect(thrown(() => store.putAll(tooMany)).location.field).toBe('entries');
      expect(store.stats().bundles).toBe(0);
    });

    it('refuses a bundle whose lifetime has ended', () => {
      expect(store.put(bundle('old', { expiresAtMs: unixMs(T0 - 1) }), bytesOf('x'))).toEqual({ stored: false, reason: 'expired' });
      expect(store.put(bundle('now', { expiresAtMs: unixMs(T0) }), bytesOf('x'))).toEqual({ stored: false, reason: 'expired' });
      expect(store.keyStatus('old')).toBe('unknown');
    });

    it('refuses as too large a bundle over bundleSizeBytesMax or a key over the length limit', () => {
      reopen({ bundleSizeBytesMax: 1_000 });
      expect(store.put(bundle('big'), new Uint8Array(1_001))).toEqual({ stored: false, reason: 'too-large' });
      expect(store.put(bundle('fits'), new Uint8Array(1_000))).toEqual({ stored: true, id: 1 });
      expect(store.put(bundle('k'.repeat(BUNDLE_KEY_LENGTH_MAX + 1)), bytesOf('x'))).toEqual({ stored: false, reason: 'too-large' });
    });

    it('throws ORBITFED_STORE_INVALID for metadata only a caller bug produces', () => {
      expect(thrown(() => store.put(bundle(''), bytesOf('x'))).code).toBe('ORBITFED_STORE_INVALID');
      expect(thrown(() => store.put(bundle('p', { priority: 3 as 0 }), bytesOf('x'))).location.field).toBe('priority');
      expect(thrown(() => store.put(bundle('e', { expiresAtMs: unixMs(Number.NaN) }), bytesOf('x'))).location.field).toBe('expiresAtMs');
      expect(thrown(() => store.put(local('l', { nextHop: 'ipn:3.0' }), bytesOf('x'))).location.field).toBe('nextHop');
      expect(thrown(() => store.listWaiting({ limit: 0 })).location.field).toBe('limit');
      expect(store.stats().bundles).toBe(0);
    });

    it('round-trips 1 KB, 100 KB and 10 MB bundles', () => {
      reopen({ capacityBytes: 64 * 1024 * 1024 });
      const sizes = [1_024, 100 * 1_024, 10 * 1_024 * 1_024];
      const payloads = sizes.map((size) => randomBytes(size));
      payloads.forEach((payload, i) => expect(store.put(bundle(`s${i}`), payload).stored).toBe(true));
      reopen({ capacityBytes: 64 * 1024 * 1024 });
      payloads.forEach((payload, i) => expect(Buffer.compare(store.read(i + 1)!, payload)).toBe(0));
      expect(store.stats().bytes).toBe(sizes.reduce((a, b) => a + b));
      expect(store.verify()).toEqual({ ok: true, problems: [] });
    });
  });

  describe('capacity', () => {
    it('refuses a new bundle when the count is reached and evicts nothing, not even bulk bundles', () => {
      reopen({ capacityBundles: 3 });
      for (const key of ['b1', 'b2', 'b3']) store.put(bundle(key, { priority: BUNDLE_PRIORITY.bulk }), bytesOf(key));
      expect(store.put(bundle('urgent', { priority: BUNDLE_PRIORITY.expedited }), bytesOf('!'))).toEqual({ stored: false, reason: 'full' });
      expect(['b1', 'b2', 'b3', 'urgent'].map((key) => store.keyStatus(key))).toEqual(['stored', 'stored', 'stored', 'unknown']);
      expect(store.forwarded(1)).toBe(true);
      expect(store.put(bundle('urgent', { priority: BUNDLE_PRIORITY.expedited }), bytesOf('!')).stored).toBe(true);
    });

    it('refuses a bundle that would exceed the byte capacity while a smaller one still fits', () => {
      reopen({ capacityBytes: 100 });
      expect(store.put(bundle('a'), new Uint8Array(60)).stored).toBe(true);
      expect(store.put(bundle('b'), new Uint8Array(41))).toEqual({ stored: false, reason: 'full' });
      expect(store.put(bundle('c'), new Uint8Array(40)).stored).toBe(true);
      expect(store.stats()).toMatchObject({ bundles: 2, bytes: 100, capacityBytes: 100 });
    });

    it('reserves a delivered-key slot for each local bundle, refusing local ones (only) when the record is full', () => {
      reopen({ deliveredKeysMax: 2 });
      const first = store.put(local('l1'), bytesOf('1')) as { id: number };
      store.markDelivered(first.id);
      expect(store.put(local('l2'), bytesOf('2')).stored).toBe(true);
      expect(store.put(local('l3'), bytesOf('3'))).toEqual({ stored: false, reason: 'full' });
      expect(store.put(bundle('f1'), bytesOf('4')).stored).toBe(true);
      expect(store.stats()).toMatchObject({ local: 1, deliveredKeys: 1, deliveredKeysMax: 2 });
    });
  });

  describe('forwarding', () => {
    it('lists waiting bundles by priority, then arrival', () => {
      store.put(bundle('bulk-1', { priority: BUNDLE_PRIORITY.bulk }), bytesOf('x'));
      store.put(bundle('normal-1'), bytesOf('x'));
      store.put(bundle('expedited-1', { priority: BUNDLE_PRIORITY.expedited }), bytesOf('x'));
      store.put(bundle('normal-2'), bytesOf('x'));
      store.put(local('local-1', { priority: BUNDLE_PRIORITY.expedited }), bytesOf('x'));
      store.put(bundle('bulk-2', { priority: BUNDLE_PRIORITY.bulk }), bytesOf('x'));
      expect(store.listWaiting({ limit: 10 }).map((b) => b.key)).toEqual(['expedited-1', 'normal-1', 'normal-2', 'bulk-1', 'bulk-2']);
      expect(store.listWaiting({ limit: 2 }).map((b) => b.key)).toEqual(['expedited-1', 'normal-1']);
    });

    it('filters by destination and by the next hop the router assigned, which survives a reopen', () => {
      store.put(bundle('to-2'), bytesOf('x'));
      store.put(bundle('to-3', { destination: 'ipn:3.1' }), bytesOf('x'));
      store.put(bundle('to-3b', { destination: 'ipn:3.1' }), bytesOf('x'));
      expect(store.assignNextHop([2, 3], 'ipn:7.0')).toBe(2);
      reopen();
      expect(store.listWaiting({ destination: 'ipn:3.1', limit: 10 }).map((b) => b.key)).toEqual(['to-3', 'to-3b']);
      expect(store.listWaiting({ nextHop: 'ipn:7.0', limit: 10 }).map((b) => b.key)).toEqual(['to-3', 'to-3b']);
      expect(store.assignNextHop([3], undefined)).toBe(1);
      expect(store.listWaiting({ nextHop: 'ipn:7.0', destination: 'ipn:3.1', limit: 10 }).map((b) => b.key)).toEqual(['to-3']);
    });

    it('hides bundles in flight from the queue and puts them back when sending fails or the link drops', () => {
      for (const key of ['a', 'b', 'c']) store.put(bundle(key), bytesOf(key));
      expect(Buffer.from(store.startSending(1, 'link-1')!).toString()).toBe('a');
      store.startSending(2, 'link-1');
      store.startSending(3, 'link-2');
      expect(store.startSending(1, 'link-2')).toBeUndefined();
      expect(store.listWaiting({ limit: 10 })).toEqual([]);
      expect(store.get(1)?.state).toBe('in-flight');
      expect(store.stats()).toMatchObject({ waiting: 0, inFlight: 3, inFlightBytes: 3 });
      expect(store.sendFailed(3)).toBe(true);
      expect(store.sendFailed(3)).toBe(false);
      expect(store.linkDown('link-1')).toBe(2);
      expect(store.listWaiting({ limit: 10 }).map((b) => b.key)).toEqual(['a', 'b', 'c']);
      expect(store.stats()).toMatchObject({ waiting: 3, inFlight: 0, inFlightBytes: 0 });
    });

    it('finds every bundle that was in flight waiting again after a restart', () => {
      for (const key of ['a', 'b']) store.put(bundle(key), bytesOf(key));
      store.startSending(1, 'link-1');
      store.startSending(2, 'link-1');
      reopen();
      expect(store.listWaiting({ limit: 10 }).map((b) => [b.key, b.state])).toEqual([['a', 'waiting'], ['b', 'waiting']]);
    });

    it('deletes a bundle once the next hop acknowledged it, and only bundles to forward', () => {
      store.put(bundle('a'), bytesOf('a'));
      store.put(local('l'), bytesOf('l'));
      store.startSending(1, 'link-1');
      expect(store.forwarded(1)).toBe(true);
      expect(store.forwarded(1)).toBe(false);
      expect(store.forwarded(2)).toBe(false);
      expect(store.startSending(2, 'link-1')).toBeUndefined();
      reopen();
      expect(store.keyStatus('a')).toBe('unknown');
      expect(store.stats()).toMatchObject({ bundles: 1, local: 1, inFlight: 0 });
      expect(store.put(bundle('a'), bytesOf('a')).stored).toBe(true);
    });

    it('deletes many acknowledged bundles with one commit', () => {
      for (const key of ['a', 'b', 'c']) store.put(bundle(key), bytesOf(key));
      expect(store.forwardedAll([1, 3, 99])).toBe(2);
      expect(store.listWaiting({ limit: 10 }).map((b) => b.key)).toEqual(['b']);
    });
  });

  describe('delivery to the application', () => {
    it('hands each bundle to consume once and remembers it across a reopen', () => {
      store.put(local('m1'), bytesOf('one'));
      store.put(local('m2', { priority: BUNDLE_PRIORITY.expedited }), bytesOf('two'));
      store.put(local('other', { destination: 'ipn:1.2' }), bytesOf('three'));
      const seen: string[] = [];
      expect(store.takeForDelivery({ destination: LOCAL, limit: 10 }, (b, bytes) => seen.push(`${b.key}=${Buffer.from(bytes).toString()}`))).toBe(2);
      expect(seen).toEqual(['m2=two', 'm1=one']);
      reopen();
      expect(store.takeForDelivery({ destination: LOCAL, limit: 10 }, () => seen.push('again'))).toBe(0);
      expect(store.listDeliverable({ limit: 10 }).map((b) => b.key)).toEqual(['other']);
      expect(store.stats()).toMatchObject({ bundles: 1, local: 1, deliveredKeys: 2 });
    });

    it('keeps the bundle consume refused, and the ones delivered before it', () => {
      for (const key of ['m1', 'm2', 'm3']) store.put(local(key), bytesOf(key));
      const seen: string[] = [];
      expect(() => store.takeForDelivery({ limit: 10 }, (b) => {
        if (b.key === 'm2') throw new Error('application is busy');
        seen.push(b.key);
      })).toThrow('application is busy');
      expect(seen).toEqual(['m1']);
      expect(['m1', 'm2', 'm3'].map((key) => store.keyStatus(key))).toEqual(['delivered', 'stored', 'stored']);
    });

    it('commits a reply stored inside consume with the delivery, and undoes it when consume throws', () => {
      store.put(local('request-1'), bytesOf('job'));
      store.put(local('request-2'), bytesOf('job'));
      expect(() => store.takeForDelivery({ limit: 10 }, (b) => {
        store.put(bundle(`reply-to-${b.key}`), bytesOf('done'));
        if (b.key === 'request-2') throw new Error('crashed half-way');
      })).toThrow('crashed half-way');
      reopen();
      expect(store.keyStatus('request-1')).toBe('delivered');
      expect(store.keyStatus('reply-to-request-1')).toBe('stored');
      expect(store.keyStatus('request-2')).toBe('stored');
      expect(store.keyStatus('reply-to-request-2')).toBe('unknown');
      expect(store.verify()).toEqual({ ok: true, problems: [] });
    });

    it('refuses a delivery started from inside consume, and copes with consume marking its own bundle', () => {
      store.put(local('m1'), bytesOf('1'));
      store.put(local('m2'), bytesOf('2'));
      expect(() => store.takeForDelivery({ limit: 10 }, () => store.takeForDelivery({ limit: 10 }, () => {}))).toThrow(/inside its own consume/);
      expect(store.takeForDelivery({ limit: 10 }, (b) => store.markDelivered(b.id))).toBe(2);
      expect(store.stats()).toMatchObject({ bundles: 0, deliveredKeys: 2 });
      expect(store.verify().ok).toBe(true);
    });

    it('records a delivery the application made after reading the bundle', () => {
      store.put(local('m'), bytesOf('payload'));
      const [listed] = store.listDeliverable({ destination: LOCAL, limit: 1 });
      expect(Buffer.from(store.read(listed!.id)!).toString()).toBe('payload');
      expect(store.markDelivered(listed!.id)).toBe(true);
      expect(store.markDelivered(listed!.id)).toBe(false);
      store.put(bundle('f'), bytesOf('f'));
      expect(store.markDelivered(2)).toBe(false);
      expect(store.keyStatus('m')).toBe('delivered');
    });
  });

  describe('expiry', () => {
    it('removes bundles whose lifetime ended, in flight or not, earliest first, and returns them', () => {
      store.put(bundle('late', { expiresAtMs: unixMs(T0 + 30_000) }), bytesOf('x'));
      store.put(bundle('early', { expiresAtMs: unixMs(T0 + 10_000) }), bytesOf('x'));
      store.put(local('mid', { expiresAtMs: unixMs(T0 + 20_000) }), bytesOf('x'));
      store.startSending(2, 'link-1');
      clock.advance(durationMs(20_000));
      const result = store.expire({ limit: 10 });
      expect(result.expired.map((b) => [b.key, b.state])).toEqual([['early', 'in-flight'], ['mid', 'local']]);
      expect(result.more).toBe(false);
      expect(store.forwarded(2)).toBe(false);
      expect(store.stats()).toMatchObject({ bundles: 1, inFlight: 0, local: 0 });
      expect(store.listWaiting({ limit: 10 }).map((b) => b.key)).toEqual(['late']);
    });

    it('never lists or hands out a bundle past its lifetime, even before expire removes it', () => {
      store.put(bundle('f', { expiresAtMs: unixMs(T0 + 1_000) }), bytesOf('f'));
      store.put(local('l', { expiresAtMs: unixMs(T0 + 1_000) }), bytesOf('l'));
      clock.advance(durationMs(1_000));
      expect(store.listWaiting({ limit: 10 })).toEqual([]);
      expect(store.startSending(1, 'link-1')).toBeUndefined();
      expect(store.listDeliverable({ limit: 10 })).toEqual([]);
      expect(store.takeForDelivery({ limit: 10 }, () => { throw new Error('must not be called'); })).toBe(0);
      expect(store.expire({ limit: 10 }).expired.map((b) => b.key)).toEqual(['f', 'l']);
    });

    it('works in batches of at most limit, saying when there is more', () => {
      for (let i = 0; i < 5; i += 1) store.put(bundle(`k${i}`, { expiresAtMs: unixMs(T0 + 1_000) }), bytesOf('x'));
      clock.advance(durationMs(1_000));
      expect(store.expire({ limit: 3 })).toMatchObject({ more: true });
      expect(store.expire({ limit: 3 }).expired).toHaveLength(2);
      expect(store.stats().bundles).toBe(0);
    });
  });

  describe('stats and checks', () => {
    it('counts bundles and bytes per state', () => {
      store.put(bundle('w'), new Uint8Array(10));
      store.put(bundle('f'), new Uint8Array(20));
      store.put(local('l'), new Uint8Array(30));
      store.startSending(2, 'link-1');
      expect(store.stats()).toEqual({
        bundles: 3, bytes: 60, waiting: 1, waitingBytes: 10, inFlight: 1, inFlightBytes: 20, local: 1, localBytes: 30,
        deliveredKeys: 0, capacityBundles: 100, capacityBytes: 1_000_000, deliveredKeysMax: 100,
      });
    });

    it('detects a payload damaged on disk, names it, and lets the agent discard it', () => {
      store.put(bundle('good'), bytesOf('good'));
      store.put(bundle('flipped'), bytesOf('abcd'));
      store.close();
      const raw = new DatabaseSync(path);
      raw.prepare('UPDATE payloads SET bytes = ? WHERE id = 2').run(bytesOf('abce'));
      raw.close();
      store = BundleStore.open(path, options());
      const error = thrown(() => store.startSending(2, 'link-1'));
      expect(error.code).toBe('ORBITFED_STORE_CORRUPT');
      expect(error.location).toEqual({ file: path, field: 'bundle 2' });
      expect(store.verify()).toEqual({ ok: false, problems: ['bundle 2: payload does not match its CRC-32'] });
      expect(store.discard(2)?.key).toBe('flipped');
      expect(store.verify().ok).toBe(true);
      expect(Buffer.from(store.startSending(1, 'link-1')!).toString()).toBe('good');
    });

    it('refuses every call once closed', () => {
      store.close();
      expect(thrown(() => store.stats()).code).toBe('ORBITFED_STORE_CLOSED');
      expect(thrown(() => store.put(bundle('a'), bytesOf('a'))).code).toBe('ORBITFED_STORE_CLOSED');
      store.close();
      store = BundleStore.open(path, options());
    });
  });
});

describe('BundleStore.open', () => {
  const options: BundleStoreOptions = { capacityBytes: 1_000_000, capacityBundles: 100, clock: new VirtualClock(unixMs(T0)) };

  /** Opening must fail with `code`, name the file, and leave it byte for byte as it was. */
  function expectRefused(path: string, code: string): OrbitfedError {
    const before = readFileSync(path);
    const error = thrown(() => BundleStore.open(path, options));
    expect(error.code).toBe(code);
    expect(error.location.file).toBe(path);
    expect(error.message).toContain(path);
    expect(Buffer.compare(readFileSync(path), before)).toBe(0);
    expect(existsSync(`${path}-wal`)).toBe(false);
    return error;
  }

  it('creates a store in WAL mode, recognisable by its application id and schema version', () => {
    const path = freshPath();
    BundleStore.open(path, options).close();
    const raw = new DatabaseSync(path, { readOnly: true });
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(raw.prepare('PRAGMA application_id').get()).toEqual({ application_id: 0x4f464253 });
    expect(raw.prepare('PRAGMA user_version').get()).toEqual({ user_version: BUNDLE_STORE_SCHEMA_VERSION });
    raw.close();
  });

  it('refuses a file of random bytes as corrupt without writing to it', () => {
    const path = freshPath();
    writeFileSync(path, randomBytes(8_192));
    expectRefused(path, 'ORBITFED_STORE_CORRUPT');
  });

  it('refuses a truncated store as corrupt', () => {
    const path = freshPath();
    const store = BundleStore.open(path, options);
    for (let i = 0; i < 50; i += 1) store.put(bundle(`k${i}`), randomBytes(2_000));
    store.close();
    truncateSync(path, Math.floor(readFileSync(path).length / 2));
    expectRefused(path, 'ORBITFED_STORE_CORRUPT');
  });

  it('refuses a store written by a newer schema version', () => {
    const path = freshPath();
    BundleStore.open(path, options).close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${BUNDLE_STORE_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(expectRefused(path, 'ORBITFED_STORE_VERSION').message).toContain(`schema version ${BUNDLE_STORE_SCHEMA_VERSION + 1}`);
  });

  it('refuses an SQLite database that is not a bundle store', () => {
    const path = freshPath();
    const raw = new DatabaseSync(path);
    raw.exec("CREATE TABLE jobs (id INTEGER PRIMARY KEY); INSERT INTO jobs VALUES (1)");
    raw.close();
    expect(expectRefused(path, 'ORBITFED_STORE_FOREIGN').message).toContain('jobs');
  });

  it('refuses a store that is already open', () => {
    const path = freshPath();
    const first = BundleStore.open(path, options);
    first.put(bundle('a'), bytesOf('a'));
    const error = thrown(() => BundleStore.open(path, options));
    expect(error.code).toBe('ORBITFED_STORE_LOCKED');
    expect(first.keyStatus('a')).toBe('stored');
    first.close();
    BundleStore.open(path, options).close();
  });

  it('reports a path it cannot create as an I/O error', () => {
    const error = thrown(() => BundleStore.open(join(dir, 'no-such-dir', 'store.db'), options));
    expect(error.code).toBe('ORBITFED_STORE_IO');
    expect(error.location.file).toBe(join(dir, 'no-such-dir', 'store.db'));
  });
});

// The forwarding blocks (RFC 9171 §4.4, §5.4 step 4, §5.5): hop count, bundle age, previous node.
import { describe, expect, it } from 'vitest';
import { durationMs, unixMs } from '../../common/index.ts';
import { CRC_NONE, NO_BLOCK_FLAGS, type Bundle, type ExtensionBlock } from '../../dtn/bundle.ts';
import { decodeBundle, encodeBundle } from '../../dtn/bundle-codec.ts';
import { DTN_EPOCH_UNIX_MS, DTN_TIME_UNKNOWN } from '../../dtn/dtn-time.ts';
import { ipnEid } from '../../dtn/eid.ts';
import {
  bundleAgeMs,
  forwardedCopy,
  isExpired,
  isHopLimitExceeded,
  withHopCounted,
  withoutPreviousNode,
  withPreviousNode,
  withResidenceTime,
} from '../../dtn/forwarding-blocks.ts';
import { CREATED, sampleBundle } from './sample-bundles.ts';

const header = { flags: NO_BLOCK_FLAGS, crcType: CRC_NONE } as const;
const withBlocks = (...extensionBlocks: ExtensionBlock[]): Bundle => ({ ...sampleBundle(), extensionBlocks });
const hops = (hopLimit: number, hopCount: number): ExtensionBlock => ({ kind: 'hop-count', blockNumber: 2, ...header, hopLimit, hopCount });
const age = (ageMs: number): ExtensionBlock => ({ kind: 'bundle-age', blockNumber: 3, ...header, ageMs });
const previous = (node: number): ExtensionBlock => ({ kind: 'previous-node', blockNumber: 7, ...header, nodeId: ipnEid(node, 0) });

describe('hop count (§4.4.3)', () => {
  it('counts one more hop, and leaves a bundle without a hop-count block unchanged', () => {
    expect(withHopCounted(withBlocks(hops(3, 1))).extensionBlocks).toEqual([hops(3, 2)]);
    const plain = sampleBundle();
    expect(withHopCounted(plain)).toBe(plain);
  });

  it('is exceeded only when the count is above the limit', () => {
    expect(isHopLimitExceeded(withBlocks(hops(3, 3)))).toBe(false);
    expect(isHopLimitExceeded(withBlocks(hops(3, 4)))).toBe(true);
    expect(isHopLimitExceeded(sampleBundle())).toBe(false);
  });
});

describe('bundle age (§4.4.2, §5.4 step 4)', () => {
  it('adds the residence time, rounded up to whole milliseconds', () => {
    expect(withResidenceTime(withBlocks(age(100)), durationMs(2.2)).extensionBlocks).toEqual([age(103)]);
  });

  it('leaves a bundle without a bundle-age block unchanged', () => {
    const plain = sampleBundle();
    expect(withResidenceTime(plain, durationMs(50))).toBe(plain);
  });

  it('ages a bundle by its creation time when the clock is accurate, by its age block otherwise (§5.5)', () => {
    const now = unixMs(DTN_EPOCH_UNIX_MS + CREATED + 5000);
    const bundle = withBlocks(age(100));
    expect(bundleAgeMs(bundle, now, durationMs(20), true)).toBe(5000);
    expect(bundleAgeMs(bundle, now, durationMs(20), false)).toBe(120);
    const unknownTime: Bundle = { ...bundle, primary: { ...bundle.primary, creation: { dtnTimeMs: DTN_TIME_UNKNOWN, sequence: 1n } } };
    expect(bundleAgeMs(unknownTime, now, durationMs(20), true)).toBe(120);
    expect(bundleAgeMs(sampleBundle(), now, durationMs(20), false)).toBeUndefined();
    expect(isExpired(bundle, 86_400_000)).toBe(false);
    expect(isExpired(bundle, 86_400_001)).toBe(true);
  });
});

describe('previous node (§4.4.1)', () => {
  it('replaces the previous node with ours, numbered after the other blocks', () => {
    const next = withPreviousNode(withBlocks(hops(3, 0), previous(5)), ipnEid(9, 0));
    expect(next.extensionBlocks).toEqual([hops(3, 0), { kind: 'previous-node', blockNumber: 3, ...header, nodeId: ipnEid(9, 0) }]);
    expect(withoutPreviousNode(withBlocks(previous(5))).extensionBlocks).toEqual([]);
  });
});

describe('forwardedCopy (§5.4 step 4)', () => {
  it('updates all three blocks at once and stays a valid bundle, leaving the original untouched', () => {
    const original = withBlocks(previous(5), hops(10, 2), age(1000));
    const copy = forwardedCopy(original, { residence: durationMs(250), previousNodeId: ipnEid(9, 0) });
    expect(copy.extensionBlocks).toEqual([hops(10, 3), age(1250), { kind: 'previous-node', blockNumber: 4, ...header, nodeId: ipnEid(9, 0) }]);
    expect(decodeBundle(encodeBundle(copy))).toEqual(copy);
    expect(original.extensionBlocks).toEqual([previous(5), hops(10, 2), age(1000)]);
    expect(forwardedCopy(original, { residence: durationMs(0) }).extensionBlocks.map((b) => b.kind)).toEqual(['hop-count', 'bundle-age']);
  });
});

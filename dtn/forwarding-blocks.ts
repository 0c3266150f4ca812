// The three extension blocks a forwarding node maintains (RFC 9171 §4.4, §5.4 step 4): Previous
// Node (replaced by our own node ID on every hop), Bundle Age (increased by the time the bundle
// spent here), Hop Count (one more per hop; a bundle whose count exceeds its limit is deleted with
// reason "Hop limit exceeded", §4.4.3). Each function returns a new bundle; the input is unchanged.
import type { DurationMs, UnixMs } from '../common/index.ts';
import { CRC_NONE, NO_BLOCK_FLAGS, findBlock, nextBlockNumber, type Bundle, type CrcType, type ExtensionBlock } from './bundle.ts';
import { unixMsFromDtnTime } from './dtn-time.ts';
import type { Eid } from './eid.ts';

function replaceBlock(bundle: Bundle, kind: ExtensionBlock['kind'], update: (block: ExtensionBlock) => ExtensionBlock): Bundle {
  return { ...bundle, extensionBlocks: bundle.extensionBlocks.map((b) => (b.kind === kind ? update(b) : b)) };
}

/** The hop count raised by one, if the bundle has a Hop Count block (§4.4.3); otherwise unchanged. */
export function withHopCounted(bundle: Bundle): Bundle {
  if (findBlock(bundle, 'hop-count') === undefined) return bundle;
  return replaceBlock(bundle, 'hop-count', (b) => (b.kind === 'hop-count' ? { ...b, hopCount: b.hopCount + 1 } : b));
}

/** §4.4.3: "When a bundle's hop count exceeds its hop limit, the bundle SHOULD be deleted." */
export function isHopLimitExceeded(bundle: Bundle): boolean {
  const hops = findBlock(bundle, 'hop-count');
  return hops !== undefined && hops.hopCount > hops.hopLimit;
}

/**
 * The bundle age raised by the time it resided here (§5.4 step 4), if it has a Bundle Age block.
 * Rounded up to the next whole millisecond, so that rounding never makes a bundle look younger
 * than it is and outlive its lifetime.
 */
export function withResidenceTime(bundle: Bundle, residence: DurationMs): Bundle {
  if (findBlock(bundle, 'bundle-age') === undefined) return bundle;
  const addMs = Math.ceil(Math.max(0, residence));
  return replaceBlock(bundle, 'bundle-age', (b) => (b.kind === 'bundle-age' ? { ...b, ageMs: b.ageMs + addMs } : b));
}

/** The bundle without its Previous Node block (§5.4 step 4: removed before forwarding). */
export function withoutPreviousNode(bundle: Bundle): Bundle {
  return { ...bundle, extensionBlocks: bundle.extensionBlocks.filter((b) => b.kind !== 'previous-node') };
}

/** Any Previous Node block replaced by one naming `nodeId`, numbered after the existing blocks. */
export function withPreviousNode(bundle: Bundle, nodeId: Eid, crcType: CrcType = CRC_NONE): Bundle {
  const rest = withoutPreviousNode(bundle);
  const block: ExtensionBlock = { kind: 'previous-node', blockNumber: nextBlockNumber(rest), flags: NO_BLOCK_FLAGS, crcType, nodeId };
  return { ...rest, extensionBlocks: [...rest.extensionBlocks, block] };
}

export interface ForwardingUpdate {
  /** How long the bundle was at this node (since received, or since created here). */
  readonly residence: DurationMs;
  /** Our node ID when this node attaches Previous Node blocks; otherwise the old block is only removed. */
  readonly previousNodeId?: Eid;
}

/** The copy to hand to a convergence layer (§5.4 step 4): previous node, age and hop count updated. */
export function forwardedCopy(bundle: Bundle, update: ForwardingUpdate): Bundle {
  const aged = withHopCounted(withResidenceTime(bundle, update.residence));
  return update.previousNodeId === undefined ? withoutPreviousNode(aged) : withPreviousNode(aged, update.previousNodeId);
}

/**
 * The bundle's age (§5.5): now minus the creation time when that is known and our clock is
 * accurate; otherwise ("MUST be obtained from the Bundle Age extension block") the Bundle Age
 * block plus the time the bundle has been here. `undefined` when neither applies: an inaccurate
 * clock and no Bundle Age block.
 */
export function bundleAgeMs(bundle: Bundle, now: UnixMs, residence: DurationMs, clockIsAccurate: boolean): number | undefined {
  const created = unixMsFromDtnTime(bundle.primary.creation.dtnTimeMs);
  if (clockIsAccurate && created !== undefined) return Math.max(0, now - created);
  const age = findBlock(bundle, 'bundle-age');
  return age === undefined ? undefined : age.ageMs + Math.max(0, residence);
}

/** §5.5: a bundle expires when its age exceeds its lifetime. */
export function isExpired(bundle: Bundle, ageMs: number): boolean {
  return ageMs > bundle.primary.lifetimeMs;
}

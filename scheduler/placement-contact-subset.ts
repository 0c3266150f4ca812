// The contacts a job's sovereignty rules leave usable, in the two orders the one-to-all scans read
// them (placement-graph.ts): by start (forward) and by end, latest first (backward). Each subset
// is copied into dense arrays, because a scan over a sparse selection of the plan's arrays would
// miss the cache on every contact; when the rules leave every contact usable, the graph's own
// orders serve and nothing is copied. A contact is usable when its rate is positive, its sender may
// hold the data, and its receiver may receive it from the sender's kind (ground or orbit).
//
// Jobs with the same rules share a subset (the catalog caches them by rules, within a budget of
// contacts), and a rule like "EU only" leaves a small fraction of a global plan, which is what
// makes the scans cheap.
import type { PlacementGraph, ScanOrder } from './placement-graph.ts';

/** Accept bits of a node: may receive from a node on the ground (or of unknown kind) / from an orbital node. */
export const ACCEPT_FROM_GROUND = 1;
export const ACCEPT_FROM_ORBIT = 2;

/** Sovereignty as it applies to contacts: per plan node, what it may receive; 0 = may not hold the data at all. */
export interface ContactRules {
  /** Per node: ACCEPT_* bits. */
  readonly accept: Uint8Array;
  /** Per node: 1 when orbital. */
  readonly orbital: Uint8Array;
}

export interface ContactSubset {
  readonly forward: ScanOrder;
  readonly backward: ScanOrder;
  /** Contacts copied for this subset (0 when it is the whole plan). */
  readonly copiedContacts: number;
}

/** Whether contact `c` has a rate and its receiver may receive the job's data from its sender's kind. */
export function receivable(g: PlacementGraph, rules: ContactRules, c: number): boolean {
  return g.rateBytesPerSec[c]! > 0 && (rules.accept[g.to[c]!]! & (rules.orbital[g.from[c]!] === 1 ? ACCEPT_FROM_ORBIT : ACCEPT_FROM_GROUND)) !== 0;
}

/** Whether contact `c` may carry the job's data under `rules`: receivable, from a node that may hold it. */
export function usableUnder(g: PlacementGraph, rules: ContactRules, c: number): boolean {
  return rules.accept[g.from[c]!] !== 0 && receivable(g, rules, c);
}

function fromIndices(g: PlacementGraph, indices: Int32Array, keySec: Float64Array): ScanOrder {
  return {
    contact: indices,
    from: Int32Array.from(indices, (c) => g.from[c]!),
    to: Int32Array.from(indices, (c) => g.to[c]!),
    keySec: Float64Array.from(indices, (c) => keySec[c]!),
    owltSec: Float64Array.from(indices, (c) => g.owltSec[c]!),
  };
}

function select(order: ScanOrder, keep: Uint8Array, count: number): ScanOrder {
  const selected: ScanOrder = {
    contact: new Int32Array(count), from: new Int32Array(count), to: new Int32Array(count), keySec: new Float64Array(count), owltSec: new Float64Array(count),
  };
  let k = 0;
  for (let i = 0; i < order.contact.length; i++) {
    if (keep[order.contact[i]!] === 0) continue;
    selected.contact[k] = order.contact[i]!;
    selected.from[k] = order.from[i]!;
    selected.to[k] = order.to[i]!;
    selected.keySec[k] = order.keySec[i]!;
    selected.owltSec[k] = order.owltSec[i]!;
    k += 1;
  }
  return selected;
}

/** Below this share of the plan, a subset is gathered from its receivers' incoming contacts and sorted, instead of filtered from a full pass. */
const GATHER_SHARE_MAX = 1 / 16;

export function contactSubsetOf(g: PlacementGraph, rules: ContactRules): ContactSubset {
  // Rules that leave few nodes able to receive: gather those nodes' incoming contacts (no pass over the plan).
  const inc = g.incoming;
  let incomingOfAccepting = 0;
  for (let n = 0; n < g.nodeCount; n++) {
    if (rules.accept[n] !== 0) incomingOfAccepting += inc.segOffset[inc.segFirst[n + 1]!]! - inc.segOffset[inc.segFirst[n]!]!;
  }
  if (incomingOfAccepting < g.contactCount * GATHER_SHARE_MAX) {
    const gathered: number[] = [];
    for (let n = 0; n < g.nodeCount; n++) {
      if (rules.accept[n] === 0) continue;
      for (let p = inc.segOffset[inc.segFirst[n]!]!, end = inc.segOffset[inc.segFirst[n + 1]!]!; p < end; p++) {
        const c = inc.contacts[p]!;
        if (usableUnder(g, rules, c)) gathered.push(c);
      }
    }
    const byStart = Int32Array.from(gathered).sort();
    // The backward order of placement-graph.ts: end descending, then index descending.
    const byEnd = Int32Array.from(gathered).sort((a, b) => g.endSec[b]! - g.endSec[a]! || b - a);
    return { forward: fromIndices(g, byStart, g.startSec), backward: fromIndices(g, byEnd, g.endSec), copiedContacts: gathered.length };
  }
  const keep = new Uint8Array(g.contactCount);
  let count = 0;
  for (let c = 0; c < g.contactCount; c++) {
    if (usableUnder(g, rules, c)) {
      keep[c] = 1;
      count += 1;
    }
  }
  if (count === g.contactCount) return { forward: g.forward, backward: g.backward, copiedContacts: 0 };
  return { forward: select(g.forward, keep, count), backward: select(g.backward, keep, count), copiedContacts: count };
}

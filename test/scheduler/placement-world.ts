// Small federations for the placement tests: nodes, jobs and contact plans written by hand (or
// drawn from a seed), each test saying what it needs and nothing else.
import { ContactPlan, type Contact, type PlanNode } from '../../contact-plans/index.ts';
import type { JobSpec, NodeSpec } from '../../scheduler/index.ts';

/** The plans' time 0: 2026-06-14T00:00:00Z. */
export const EPOCH_MS = Date.parse('2026-06-14T00:00:00Z');
export const HOUR_MS = 3_600_000;
export const GIB = 2 ** 30;

export function groundNode(id: string, ipn: number, country: string, overrides: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id, kind: 'ground', ipn, operator: `${country.toLowerCase()}-ops`,
    resources: { cpu: 16, memoryBytes: 64 * GIB, diskBytes: 2 ** 40, gpu: 0 },
    architecture: 'amd64', runtimes: ['process', 'docker'],
    pricePerHourMinor: { currency: 'EUR', cpu: 10, memoryGiB: 1, gpu: 100 },
    jurisdiction: { country, operatorJurisdiction: country }, attestations: [], blackouts: [],
    ...overrides,
  };
}

export function orbitalNode(id: string, ipn: number, registry: string, operatorJurisdiction: string | undefined, overrides: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id, kind: 'orbital', ipn, operator: `${registry.toLowerCase()}-space`,
    resources: { cpu: 4, memoryBytes: 8 * GIB, diskBytes: 2 ** 36, gpu: 0 },
    architecture: 'arm64', runtimes: ['process'],
    pricePerHourMinor: { currency: 'EUR', cpu: 40, memoryGiB: 5, gpu: 500 },
    jurisdiction: operatorJurisdiction === undefined ? { registry } : { registry, operatorJurisdiction }, attestations: [], blackouts: [],
    ...overrides,
  };
}

/** A job at `location` delivering anywhere allowed, due `deadlineHours` after `nowMs`; override the rest. */
export function jobAt(location: string, nowMs: number, deadlineHours: number, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'test-job', command: ['./run'], runtime: 'process',
    resources: { cpu: 1, memoryBytes: GIB },
    executionMs: 10 * 60_000,
    input: { sizeBytes: 1_000, location },
    result: { sizeBytes: 1_000, deliverTo: [] },
    deadlineMs: nowMs + deadlineHours * HOUR_MS,
    maxPriceMinor: { currency: 'EUR', amount: 1_000_000 },
    ...overrides,
  };
}

/** A directed contact between plan times in seconds. */
export function contact(from: number, to: number, startSec: number, endSec: number, rateBytesPerSec = 10_000, owltSec = 0.01): Contact {
  return { from, to, startSec, endSec, rateBytesPerSec, owltSec, confidence: 1 };
}

/** Both directions of a link. */
export function link(a: number, b: number, startSec: number, endSec: number, rateBytesPerSec = 10_000, owltSec = 0.01): Contact[] {
  return [contact(a, b, startSec, endSec, rateBytesPerSec, owltSec), contact(b, a, startSec, endSec, rateBytesPerSec, owltSec)];
}

/** A plan at EPOCH_MS whose nodes are those of `nodes` (ground or satellite by their kind). */
export function planOf(nodes: readonly NodeSpec[], contacts: readonly Contact[]): ContactPlan {
  const planNodes: PlanNode[] = nodes.map((n) => ({ ipn: n.ipn, id: n.id, kind: n.kind === 'ground' ? 'ground' : 'satellite' }));
  return new ContactPlan({ epochMs: EPOCH_MS, nodes: planNodes, contacts });
}

// Specs and records the scheduler's store, lifecycle and API tests share.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec } from '../../scheduler/job-spec.ts';
import type { PlacementRecord } from '../../scheduler/job-lifecycle.ts';
import type { NodeSpec } from '../../scheduler/node-spec.ts';

/** 2026-06-14T00:00:00Z: the samples' day. */
export const T0_MS = Date.UTC(2026, 5, 14);
export const HOUR_MS = 3_600_000;

export function jobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'ndvi-tile',
    command: ['ndvi', '--tile', '42'],
    resources: { cpu: 1, memoryBytes: 512 * 1024 * 1024 },
    executionMs: 60_000,
    input: { sizeBytes: 1_000_000, location: 'gs-svalbard' },
    result: { sizeBytes: 100_000, deliverTo: [] },
    deadlineMs: T0_MS + 12 * HOUR_MS,
    maxPriceMinor: { currency: 'EUR', amount: 10_000 },
    ...overrides,
  };
}

export function groundNode(id: string, ipn: number, country: string, overrides: Partial<NodeSpec> = {}): NodeSpec {
  return {
    id, kind: 'ground', ipn, operator: 'ksat',
    resources: { cpu: 8, memoryBytes: 32 * 1024 ** 3, diskBytes: 500 * 1024 ** 3, gpu: 0 },
    architecture: 'amd64', runtimes: ['process', 'docker'],
    pricePerHourMinor: { currency: 'EUR', cpu: 100, memoryGiB: 10, gpu: 0 },
    jurisdiction: { country }, attestations: [], blackouts: [],
    ...overrides,
  };
}

export function placementRecord(nodeId: string, jobId: string, overrides: Partial<PlacementRecord> = {}): PlacementRecord {
  return {
    planHash: 'plan-hash', nodeId,
    inputRoute: { arrivalSec: 100, terminationSec: 200, hops: [] },
    resultRoute: { arrivalSec: 400, terminationSec: 500, hops: [] },
    inputArrivalMs: T0_MS + 100_000, startMs: T0_MS + 100_000, finishMs: T0_MS + 160_000, resultArrivalMs: T0_MS + 400_000,
    resultStation: 'gs-svalbard', priceMinor: { currency: 'EUR', amount: '250' }, score: 1, scoreParts: {},
    ledgerJobId: `${jobId}.1`, escrowId: `${jobId}.1`, booked: true,
    ...overrides,
  };
}

/** A fresh directory removed by the returned function. */
export function scratchDirectory(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `orbitfed-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

// Keys and a well-formed assignment for the protocol and orbital agent tests: a scheduler and a
// node with reproducible keys (seeds of one repeated byte: test keys, not secrets).
import { ed25519PublicKeyFromSeed, sha256 } from '../../consensus/index.ts';
import type { JobAssignment } from '../../scheduler/index.ts';

export const CHAIN_ID = 'orbitfed-test';
export const SCHEDULER_SEED = new Uint8Array(32).fill(7);
export const SCHEDULER_PUBLIC_KEY = ed25519PublicKeyFromSeed(SCHEDULER_SEED);
export const NODE_SEED = new Uint8Array(32).fill(9);
export const NODE_PUBLIC_KEY = ed25519PublicKeyFromSeed(NODE_SEED);
export const OTHER_SEED = new Uint8Array(32).fill(11);
/** 2026-06-14T00:00:00Z. */
export const T0_MS = Date.UTC(2026, 5, 14);
export const HOUR_MS = 3_600_000;

export function assignmentOf(fields: Partial<JobAssignment> = {}): JobAssignment {
  return {
    chainId: CHAIN_ID,
    assignmentId: 'job-1.1',
    jobId: 'job-1',
    ledgerJobId: 'job-1.1',
    nodeId: 'sat-1',
    workload: {
      runtime: 'process', image: undefined, command: ['/bin/sh', '-c', 'cat "$ORBITFED_INPUT"'], env: { MODE: 'batch', A_FIRST: '1' },
      cpuMillicores: 500, memoryBytes: 64 * 1024 * 1024, diskBytes: 0, gpus: 0, executionMs: 1_000, timeoutMs: 10_000,
    },
    input: { kind: 'inline', bytes: new TextEncoder().encode('hello from the ground\n') },
    result: { stations: ['ipn:10.3'], tenantEndpoint: 'https://tenant.example/results/job-1', resultBytesMax: 1024 * 1024 },
    reportTo: 'ipn:10.2',
    deadlineMs: T0_MS + 6 * HOUR_MS,
    escrowId: 'esc-job-1.1',
    priceMinor: 1_250n,
    currency: 'EUR',
    issuedAtMs: T0_MS,
    notAfterMs: T0_MS + 4 * HOUR_MS,
    ...fields,
  };
}

export function partsInput(parts: readonly Uint8Array[]): JobAssignment['input'] {
  return { kind: 'parts', parts: parts.map((bytes, i) => ({ inputId: `job-1.in-${i}`, sizeBytes: bytes.length, sha256: sha256(bytes) })) };
}

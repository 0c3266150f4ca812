// Placement's filters one by one: each test offers a node that fails exactly one filter beside one
// that passes, and reads why the node was turned away, as a tenant would.
import { describe, expect, it } from 'vitest';
import { ContactBookings } from '../../contact-plans/index.ts';
import { ed25519PublicKeyFromSeed } from '../../consensus/index.ts';
import {
  NodeCatalog, placeJob, priceMinorOf, signAttestation, verifiedAuditors, type JobSpec, type NodeSpec, type PlacementDecision,
} from '../../scheduler/index.ts';
import { EPOCH_MS, GIB, groundNode, HOUR_MS, jobAt, link, orbitalNode, planOf } from './placement-world.ts';

const CHAIN_ID = 'orbitfed-test';
const NOW_MS = EPOCH_MS + 1000;

/**
 * The input's station (`home`, kept out of the running by anti-affinity), linked by always-on fibre
 * to each node under test.
 */
function decide(job: JobSpec, candidates: readonly NodeSpec[], extra: Partial<Parameters<typeof placeJob>[0]> = {}): PlacementDecision {
  const home = groundNode('home', 1, 'DE');
  const nodes = [home, ...candidates];
  const plan = planOf(nodes, candidates.flatMap((n) => link(1, n.ipn, 0, 86_400, 1e8, 0.001)));
  const notHome = { ...job, antiAffinity: { ...job.antiAffinity, nodes: [...(job.antiAffinity?.nodes ?? []), 'home'] } };
  return placeJob({ job: notHome, nodes, plan, bookings: new ContactBookings(plan), nowMs: NOW_MS, ...extra });
}

const good = groundNode('good', 2, 'DE');
const baseJob = jobAt('home', NOW_MS, 4);

/** Why `nodeId` was turned away: its reason, and the detail (nodes failing the same reason differently share it, counted). */
function rejection(decision: PlacementDecision, nodeId: string): { reason: string; detail: string } | undefined {
  const r = decision.rejected.find((x) => x.examples.includes(nodeId));
  return r === undefined ? undefined : { reason: r.reason, detail: r.detail };
}

describe('placement filters', () => {
  it('turns away nodes by orbital policy: required, forbidden', () => {
    const sat = orbitalNode('sat', 3, 'DE', 'DE');
    const required = decide({ ...baseJob, orbital: 'required' }, [good, sat]);
    expect(required.placed?.nodeId).toBe('sat');
    expect(rejection(required, 'good')).toEqual({ reason: 'orbital', detail: 'the job must run in orbit' });
    expect(rejection(required, 'home')?.reason).toBe('orbital');
    expect(rejection(decide({ ...baseJob, orbital: 'required' }, [good]), 'good')?.detail).toBe('the job must run in orbit');
    const forbidden = decide({ ...baseJob, orbital: 'forbidden' }, [good, sat]);
    expect(forbidden.placed?.nodeId).toBe('good');
    expect(rejection(forbidden, 'sat')).toEqual({ reason: 'orbital', detail: 'the job must not run in orbit' });
  });

  it('keeps to affinity and away from anti-affinity, by node and by operator', () => {
    const other = groundNode('other', 3, 'DE', { operator: 'acme' });
    expect(decide({ ...baseJob, affinity: { nodes: ['other'] } }, [good, other]).placed?.nodeId).toBe('other');
    expect(rejection(decide({ ...baseJob, affinity: { operators: ['acme'] } }, [good, other]), 'good')).toEqual({ reason: 'affinity', detail: 'operator not in affinity.operators' });
    const avoided = decide({ ...baseJob, antiAffinity: { nodes: ['good'] } }, [good, other]);
    expect(avoided.placed?.nodeId).toBe('other');
    expect(rejection(avoided, 'good')).toEqual({ reason: 'affinity', detail: 'listed in antiAffinity.nodes' });
  });

  it('needs the architecture and the runtime the job asks for', () => {
    const arm = groundNode('arm', 3, 'DE', { architecture: 'arm64' });
    expect(rejection(decide({ ...baseJob, architecture: 'amd64' }, [good, arm]), 'arm')).toEqual({ reason: 'architecture', detail: 'not amd64' });
    const processOnly = groundNode('process-only', 3, 'DE', { runtimes: ['process'] });
    const docker = decide({ ...baseJob, command: undefined, runtime: undefined, image: 'registry.example/job:1' }, [good, processOnly]);
    expect(docker.placed?.nodeId).toBe('good');
    expect(rejection(docker, 'process-only')).toEqual({ reason: 'runtime', detail: 'no docker runtime' });
  });

  it('counts the resources that running jobs already use', () => {
    const small = groundNode('small', 3, 'DE', { resources: { cpu: 2, memoryBytes: 4 * GIB, diskBytes: 2 ** 30, gpu: 0 } });
    const job = { ...baseJob, resources: { cpu: 1.5, memoryBytes: 2 * GIB } };
    expect(decide(job, [small]).placed?.nodeId).toBe('small');
    const busy = new Map([['small', { queuedExecutionMs: 0, cpuInUse: 1, memoryBytesInUse: 0 }]]);
    expect(rejection(decide(job, [good, small], { load: busy }), 'small')).toEqual({ reason: 'resources', detail: 'fewer than 1.5 cores free' });
    const full = new Map([['small', { queuedExecutionMs: 0, cpuInUse: 0, memoryBytesInUse: 3 * GIB }]]);
    expect(rejection(decide(job, [good, small], { load: full }), 'small')?.detail).toBe(`less than ${2 * GIB} bytes of memory free`);
    expect(rejection(decide({ ...job, resources: { ...job.resources, gpu: 1 } }, [good, small]), 'small')?.detail).toBe('fewer than 1 GPUs');
    expect(rejection(decide({ ...job, resources: { ...job.resources, diskBytes: 2 ** 31 } }, [good, small]), 'small')?.reason).toBe('resources');
  });

  it('verifies auditors\' attestations (ed25519 over the canonical bytes) for allOf and anyOf', () => {
    const seedA = new Uint8Array(32).fill(7);
    const seedB = new Uint8Array(32).fill(9);
    const auditorKeys = new Map([['audit-a', ed25519PublicKeyFromSeed(seedA)], ['audit-b', ed25519PublicKeyFromSeed(seedB)]]);
    const bare = groundNode('attested', 3, 'DE');
    const attested = { ...bare, attestations: [signAttestation(seedA, CHAIN_ID, bare, 'audit-a', { country: 'DE', tier: '3' })] };
    const forged = { ...groundNode('forged', 4, 'DE'), attestations: [{ ...attested.attestations[0]! }] };
    const lying = { ...bare, id: 'lying', ipn: 5, attestations: [signAttestation(seedA, CHAIN_ID, { ...bare, id: 'lying', ipn: 5 }, 'audit-a', { country: 'FR' })] };
    const byStranger = { ...bare, id: 'stranger', ipn: 6, attestations: [signAttestation(new Uint8Array(32).fill(1), CHAIN_ID, { ...bare, id: 'stranger', ipn: 6 }, 'audit-a', {})] };
    expect([...verifiedAuditors(attested, auditorKeys, CHAIN_ID)]).toEqual(['audit-a']);
    expect(verifiedAuditors(attested, auditorKeys, 'another-chain').size).toBe(0);
    const allOf = decide({ ...baseJob, attestations: { allOf: ['audit-a'] } }, [attested, forged, lying, byStranger, good], { chainId: CHAIN_ID, auditorKeys });
    expect(allOf.placed?.nodeId).toBe('attested');
    const turnedAway = allOf.rejected.find((r) => r.reason === 'attestations')!;
    expect(turnedAway.examples).toEqual(['forged', 'lying', 'stranger', 'good']);
    expect(turnedAway.detail).toBe('no valid attestation by audit-a (allOf)');
    const anyOf = decide({ ...baseJob, attestations: { anyOf: ['audit-b', 'audit-a'] } }, [attested, good], { chainId: CHAIN_ID, auditorKeys });
    expect(anyOf.placed?.nodeId).toBe('attested');
    expect(rejection(anyOf, 'good')?.detail).toBe('no valid attestation by any of audit-b, audit-a (anyOf)');
    const both = decide({ ...baseJob, attestations: { allOf: ['audit-a', 'audit-b'] } }, [attested], { chainId: CHAIN_ID, auditorKeys });
    expect(both.placed).toBeNull();
    expect(rejection(both, 'attested')?.detail).toBe('no valid attestation by audit-b (allOf)');
  });

  it('tells apart more auditors than the catalog gives bits (32 here), naming the same nodes and reasons', () => {
    const seeds = Array.from({ length: 32 }, (_, i) => new Uint8Array(32).fill(i + 20));
    const auditorKeys = new Map(seeds.map((seed, i) => [`auditor-${i}`, ed25519PublicKeyFromSeed(seed)]));
    const nodes = seeds.map((seed, i) => {
      const bare = groundNode(`n-${i}`, 10 + i, 'DE');
      return { ...bare, attestations: [signAttestation(seed, CHAIN_ID, bare, `auditor-${i}`, { country: 'DE' })] };
    });
    const anyOf = decide({ ...baseJob, attestations: { anyOf: ['auditor-31', 'auditor-0'] } }, nodes, { chainId: CHAIN_ID, auditorKeys });
    expect(anyOf.explanation[0]).toContain('33 registered nodes; 2 passed the filters');
    expect(anyOf.rejected.find((r) => r.reason === 'attestations')).toMatchObject({ nodes: 30, examples: ['n-1', 'n-2', 'n-3', 'n-4', 'n-5'] });
    const allOf = decide({ ...baseJob, attestations: { allOf: ['auditor-5', 'auditor-30'] } }, nodes, { chainId: CHAIN_ID, auditorKeys });
    expect(allOf.placed).toBeNull();
    // n-5 lacks only auditor-30; every other node lacks auditor-5 first, in the job's order.
    expect(allOf.rejected.find((r) => r.reason === 'attestations')).toMatchObject({
      nodes: 32, detail: 'no valid attestation by auditor-5 (allOf) (31); no valid attestation by auditor-30 (allOf) (1)',
    });
  });

  it('holds a reputation floor (the job\'s and the scheduler\'s), reading the ledger\'s reputation first', () => {
    const shaky = groundNode('shaky', 3, 'DE', { reputationPpm: 900_000 });
    const job = { ...baseJob, minReputationPpm: 800_000 };
    expect(decide(job, [shaky]).placed?.nodeId).toBe('shaky');
    expect(rejection(decide(job, [good, shaky], { reputationPpm: new Map([['shaky', 100_000]]) }), 'shaky')).toEqual({ reason: 'reputation', detail: 'reputation below 800000 ppm' });
    expect(rejection(decide(job, [good, shaky]), 'good')?.reason).toBe('reputation');
    expect(rejection(decide(baseJob, [good, shaky], { policy: { reputationFloorPpm: 950_000 } }), 'shaky')?.detail).toBe('reputation below 950000 ppm');
  });

  it('prices a run in whole minor units, rounded up, and turns away nodes above the maximum or in another currency', () => {
    const node = groundNode('priced', 3, 'DE', { pricePerHourMinor: { currency: 'EUR', cpu: 100, memoryGiB: 10, gpu: 1000 } });
    // 1.5 h × (2 × 100 + 4 × 10 + 1 × 1000) = 1860.
    const job = { ...baseJob, executionMs: 1.5 * HOUR_MS, resources: { cpu: 2, memoryBytes: 4 * GIB, gpu: 1 } };
    expect(priceMinorOf(job, { ...node, resources: { ...node.resources, gpu: 1 } })).toBe(1860n);
    // 1 ms of one core at 100/h is 1/36,000 of a unit: rounded up to 1.
    expect(priceMinorOf({ ...baseJob, executionMs: 1, resources: { cpu: 1, memoryBytes: 1 } }, node)).toBe(1n);
    const gpuNode = { ...node, resources: { ...node.resources, gpu: 1 } };
    expect(decide({ ...job, maxPriceMinor: { currency: 'EUR', amount: 1860 } }, [gpuNode]).placed?.priceMinor).toEqual({ currency: 'EUR', amount: '1860' });
    expect(rejection(decide({ ...job, maxPriceMinor: { currency: 'EUR', amount: 1859 } }, [gpuNode]), 'priced')).toEqual({ reason: 'price', detail: 'estimated price above 1859 EUR' });
    expect(rejection(decide({ ...job, maxPriceMinor: { currency: 'USD', amount: 1_000_000 } }, [gpuNode]), 'priced')?.detail).toBe('prices in another currency than USD');
  });

  it('keeps data at rest inside the allowed countries: ground nodes by country, satellites by registry and operator jurisdiction', () => {
    const paris = groundNode('paris', 3, 'FR');
    const oslo = groundNode('oslo', 4, 'NO');
    const mixed = orbitalNode('sat-mixed', 5, 'DE', 'US');
    const job = { ...baseJob, sovereignty: { atRest: ['EU'] } };
    const decision = decide(job, [paris, oslo, mixed]);
    expect(decision.placed).not.toBeNull();
    expect(decision.rejected.find((r) => r.reason === 'sovereignty-at-rest')).toEqual({
      reason: 'sovereignty-at-rest', nodes: 2, examples: ['oslo', 'sat-mixed'],
      detail: 'its country is not allowed to hold the data (1); its state of registry or operator jurisdiction is not allowed to hold the data (1)',
    });
  });

  it('keeps ground nodes outside the processing footprint away', () => {
    const paris = groundNode('paris', 3, 'FR');
    const decision = decide({ ...baseJob, sovereignty: { processingFootprint: ['DE'] } }, [good, paris]);
    expect(decision.placed?.nodeId).toBe('good');
    expect(rejection(decision, 'paris')).toEqual({ reason: 'processing-footprint', detail: 'its country is outside the processing footprint' });
  });

  it('names at most five example nodes per reason, with the full count', () => {
    const many = Array.from({ length: 9 }, (_, i) => groundNode(`oslo-${i}`, 10 + i, 'NO'));
    const decision = decide({ ...baseJob, sovereignty: { atRest: ['DE'] } }, [good, ...many]);
    const atRest = decision.rejected.find((r) => r.reason === 'sovereignty-at-rest')!;
    expect(atRest.nodes).toBe(9);
    expect(atRest.examples).toEqual(['oslo-0', 'oslo-1', 'oslo-2', 'oslo-3', 'oslo-4']);
    expect(decision.explanation[0]).toContain('11 registered nodes; 1 passed the filters');
  });

  it('counts every node under its own reason when reasons alternate from node to node, with the first examples of each', () => {
    const mixed = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? orbitalNode(`sat-${i}`, 20 + i, 'DE', 'DE') : groundNode(`oslo-${i}`, 20 + i, 'NO')));
    const decision = decide({ ...baseJob, orbital: 'forbidden', sovereignty: { atRest: ['DE'] } }, [good, ...mixed]);
    expect(decision.rejected.map((r) => [r.reason, r.nodes, r.examples, r.detail])).toEqual([
      ['affinity', 1, ['home'], 'listed in antiAffinity.nodes'],
      ['orbital', 4, ['sat-0', 'sat-2', 'sat-4', 'sat-6'], 'the job must not run in orbit'],
      ['sovereignty-at-rest', 4, ['oslo-1', 'oslo-3', 'oslo-5', 'oslo-7'], 'its country is not allowed to hold the data'],
    ]);
    expect(decision.placed?.nodeId).toBe('good');
  });

  it('counts runs of nodes of the kind the orbital policy excludes in full, with the first examples across runs', () => {
    const sats = (from: number, count: number): NodeSpec[] => Array.from({ length: count }, (_, i) => orbitalNode(`sat-${from + i}`, 40 + from + i, 'DE', 'DE'));
    const oslo = [groundNode('oslo-a', 60, 'NO'), groundNode('oslo-b', 61, 'NO')];
    const candidates = [...sats(0, 3), good, ...oslo, ...sats(3, 7)];
    const forbidden = decide({ ...baseJob, orbital: 'forbidden', sovereignty: { atRest: ['DE'] } }, candidates);
    expect(forbidden.rejected.map((r) => [r.reason, r.nodes, r.examples])).toEqual([
      ['affinity', 1, ['home']],
      ['orbital', 10, ['sat-0', 'sat-1', 'sat-2', 'sat-3', 'sat-4']],
      ['sovereignty-at-rest', 2, ['oslo-a', 'oslo-b']],
    ]);
    expect(forbidden.placed?.nodeId).toBe('good');
    const required = decide({ ...baseJob, orbital: 'required' }, candidates);
    expect(required.rejected.find((r) => r.reason === 'orbital')).toMatchObject({ nodes: 4, examples: ['home', 'good', 'oslo-a', 'oslo-b'] });
    expect(required.placed?.nodeId).toMatch(/^sat-/);
  });

  it('tells architectures, runtimes and currencies that no registered node has from those of other nodes', () => {
    expect(rejection(decide({ ...baseJob, architecture: 'riscv64' }, [good]), 'good')?.reason).toBe('architecture');
    expect(rejection(decide({ ...baseJob, runtime: 'docker', image: 'x' }, [groundNode('only-process', 2, 'DE', { runtimes: ['process'] })]), 'only-process')?.reason).toBe('runtime');
    expect(rejection(decide({ ...baseJob, maxPriceMinor: { currency: 'CHF', amount: 1_000_000 } }, [good]), 'good')).toEqual({
      reason: 'price', detail: 'prices in another currency than CHF',
    });
  });

  it('builds the catalog once and gives the same decision as the node list', () => {
    const home = groundNode('home', 1, 'DE');
    const nodes = [home, good, groundNode('paris', 3, 'FR')];
    const plan = planOf(nodes, [...link(1, 2, 0, 86_400, 1e8), ...link(1, 3, 0, 86_400, 1e8)]);
    const bookings = new ContactBookings(plan);
    const catalog = new NodeCatalog({ nodes, plan });
    const job = { ...baseJob, sovereignty: { atRest: ['FR'] } };
    expect(placeJob({ job, nodes: catalog, plan, bookings, nowMs: NOW_MS })).toEqual(placeJob({ job, nodes, plan, bookings, nowMs: NOW_MS }));
  });
});

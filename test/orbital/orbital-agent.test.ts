// The orbital agent end to end in one process: a ground station (playing the scheduler and the
// result station) and the agent, each a real BundleAgent on its own store, over real TCPCLv4 on
// loopback, the real process runtime. What the node sends back is decoded and verified as the
// scheduler and the validators would.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContactPlan } from '../../contact-plans/index.ts';
import { encodeSignedReceipt, RECEIPT_VALIDITY_MS_MAX, sha256, verifyReceipt } from '../../consensus/index.ts';
import { encodeCbor } from '../../dtn/index.ts';
import {
  encodeContactPlanUpdate, encodeJobInputPart, encodeJobResult, SERVICE_NUMBERS, signContactPlanUpdate, verifyJobResult, verifyNodeReport,
} from '../../scheduler/index.ts';
import { assignmentOf, CHAIN_ID, HOUR_MS, NODE_PUBLIC_KEY, OTHER_SEED, partsInput, SCHEDULER_SEED } from './assignment-fixtures.ts';
import { linkContacts, LoopbackPair, planText, until } from './orbital-harness.ts';

let pair: LoopbackPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const fresh = (now: number, fields: Parameters<typeof assignmentOf>[0] = {}): ReturnType<typeof assignmentOf> =>
  assignmentOf({ issuedAtMs: now, notAfterMs: now + HOUR_MS, deadlineMs: now + 2 * HOUR_MS, ...fields });

const receiptContext = (blockTimeMs: number) => ({
  chainId: CHAIN_ID, blockTimeMs, graceMs: 600_000, clockSkewMsMax: 300_000, validityMsMax: RECEIPT_VALIDITY_MS_MAX,
  keyOf: () => ({ kind: 'key' as const, publicKey: NODE_PUBLIC_KEY }),
});

describe('the orbital agent, fed through TCPCLv4 on loopback', () => {
  it('runs a signed assignment and returns accepted, started and finished reports, the signed result and a receipt the validators accept', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    p.sendAssignment(fresh(now));
    await until(() => p.record.finished('job-1.1') !== undefined && p.record.receipts.length === 1 && p.record.results.length === 1, 'the job to come back');

    const reports = p.record.reportsOf('job-1.1');
    expect(reports.map((r) => r.kind)).toEqual(['accepted', 'started', 'finished']);
    expect(p.record.reports.every((r) => verifyNodeReport(r, NODE_PUBLIC_KEY))).toBe(true);
    const sequences = reports.map((r) => r.sequence);
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    const finished = reports[2]!.finished!;
    expect(finished).toMatchObject({ outcome: 'succeeded', exitCode: 0, resultSizeBytes: 22, resultSent: true });

    const result = p.record.results[0]!;
    expect(verifyJobResult(result, NODE_PUBLIC_KEY)).toBe(true);
    expect(Buffer.from(result.result.bytes).toString()).toBe('hello from the ground\n');
    expect(result.result).toMatchObject({ jobId: 'job-1', assignmentId: 'job-1.1', outcome: 'succeeded', tenantEndpoint: 'https://tenant.example/results/job-1' });
    expect(Buffer.from(finished.resultSha256).equals(Buffer.from(sha256(result.result.bytes)))).toBe(true);

    const receipt = p.record.receipts[0]!;
    expect(verifyReceipt(receipt, receiptContext(p.clock.now()))).toEqual({ ok: true });
    expect(receipt.receipt).toMatchObject({ nodeId: 'sat-1', jobId: 'job-1.1', amountMinor: 1_250n, currency: 'EUR', keyEpoch: 0 });
    expect(receipt.receipt.usage.egressBytes).toBe(BigInt(encodeJobResult(result).length));
    expect(receipt.receipt.notAfterMs - receipt.receipt.createdAtMs).toBe(6 * 86_400_000);
    expect(p.orbital.status()).toMatchObject({ running: [], waiting: 0, finished: 1, outboxMessages: 0 });
  });

  it('refuses garbage, a forged signature, another node\'s and an expired assignment with reports, and keeps working', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    p.sendRaw(SERVICE_NUMBERS.assignments, new TextEncoder().encode('not an assignment'));
    p.sendRaw(SERVICE_NUMBERS.assignments, encodeCbor([1, CHAIN_ID, 'job-x']));
    p.sendAssignment(fresh(now, { assignmentId: 'forged.1', jobId: 'forged' }), OTHER_SEED);
    p.sendAssignment(fresh(now, { assignmentId: 'other.1', jobId: 'other', nodeId: 'sat-2' }));
    p.sendAssignment(fresh(now, { assignmentId: 'late.1', jobId: 'late', issuedAtMs: now - 3 * HOUR_MS, notAfterMs: now - HOUR_MS }));
    p.sendAssignment(fresh(now, { assignmentId: 'big.1', jobId: 'big', workload: { ...fresh(now).workload, memoryBytes: 4 * 1024 ** 3 } }));
    p.sendAssignment(fresh(now, { assignmentId: 'docker.1', jobId: 'docker', workload: { ...fresh(now).workload, runtime: 'docker', image: 'busybox' } }));
    p.sendAssignment(fresh(now));
    // The receipt travels in its own bundle, after the finished report: wait for it too.
    await until(() => p.record.finished('job-1.1') !== undefined && p.record.reports.filter((r) => r.report.kind === 'refused').length === 7 && p.record.receipts.length === 1, 'seven refusals, the good job and its receipt');

    const refusals = p.record.reports.map((r) => r.report).filter((r) => r.kind === 'refused');
    expect(refusals.map((r) => [r.assignmentId, r.reasonCode]).sort()).toEqual([
      ['', 'malformed'], ['', 'malformed'], ['big.1', 'exceeds-limits'], ['docker.1', 'runtime-unsupported'], ['forged.1', 'bad-signature'],
      ['late.1', 'expired'], ['other.1', 'wrong-node'],
    ]);
    expect(refusals.find((r) => r.assignmentId === '' && r.reason.includes('ORBITFED_ASSIGNMENT_INVALID'))).toBeDefined();
    expect(p.record.finished('job-1.1')?.finished?.outcome).toBe('succeeded');
    // Refused assignments never ran and left no state.
    expect(p.orbital.status()).toMatchObject({ finished: 1, waiting: 0 });
    expect(p.record.receipts).toHaveLength(1);
  });

  it('waits for input parts that arrive after the assignment, checks them, and sends the file the job wrote as its result', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    const parts = [new Uint8Array(3000).fill(65), new Uint8Array(5000).fill(66)];
    p.sendAssignment(fresh(now, { input: partsInput(parts), workload: { ...fresh(now).workload, command: ['/bin/sh', '-c', 'wc -c < "$ORBITFED_INPUT" | tr -d " " > "$ORBITFED_RESULT"; echo ignored'] } }));
    await until(() => p.record.reportsOf('job-1.1').some((r) => r.kind === 'accepted'), 'the acceptance');
    // A wrong copy of part 0 first: it does not match the signed SHA-256 and is dropped.
    p.sendRaw(SERVICE_NUMBERS.inputs, encodeJobInputPart({ inputId: 'job-1.in-0', bytes: new Uint8Array(3000).fill(90) }));
    await until(() => p.events('orbital.input-dropped').length === 1, 'the wrong part dropped');
    expect(p.events('orbital.input-dropped')[0]!.fields).toMatchObject({ reason: 'digest-mismatch', inputId: 'job-1.in-0' });
    expect(p.record.reportsOf('job-1.1').map((r) => r.kind)).toEqual(['accepted']);
    p.sendRaw(SERVICE_NUMBERS.inputs, encodeJobInputPart({ inputId: 'job-1.in-1', bytes: parts[1]! }));
    p.sendRaw(SERVICE_NUMBERS.inputs, encodeJobInputPart({ inputId: 'job-1.in-0', bytes: parts[0]! }));
    await until(() => p.record.results.length === 1, 'the result');
    expect(Buffer.from(p.record.results[0]!.result.bytes).toString()).toBe('8000\n');
  });

  it('ends a job that outlives its timeout as timed-out, with a receipt that charges nothing', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    p.sendAssignment(fresh(now, { workload: { ...fresh(now).workload, command: ['/bin/sh', '-c', 'sleep 30'], timeoutMs: 300 } }));
    await until(() => p.record.finished('job-1.1') !== undefined && p.record.receipts.length === 1, 'the timeout', 20_000);
    const finished = p.record.finished('job-1.1')!;
    expect(finished).toMatchObject({ reasonCode: 'timeout', finished: { outcome: 'timed-out', resultSent: true } });
    expect(p.record.receipts[0]!.receipt.amountMinor).toBe(0n);
    expect(verifyReceipt(p.record.receipts[0]!, receiptContext(p.clock.now()))).toEqual({ ok: true });
  });

  it('never runs an assignment twice: a copy after a restart is a duplicate', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    const runs = join(p.dir, 'runs.log');
    const assignment = fresh(now, { workload: { ...fresh(now).workload, command: ['/bin/sh', '-c', `echo "$ORBITFED_ASSIGNMENT_ID" >> ${runs}`] } });
    p.sendAssignment(assignment);
    await until(() => p.record.finished('job-1.1') !== undefined, 'the first run');
    await p.orbital.stop();
    await p.startOrbital();
    p.sendAssignment(assignment);
    await until(() => p.events('orbital.assignment-duplicate').length === 1, 'the duplicate');
    expect(readFileSync(runs, 'utf8')).toBe('job-1.1\n');
    expect(p.record.reportsOf('job-1.1').map((r) => r.kind)).toEqual(['accepted', 'started', 'finished']);
  });

  it('cancels a running job on a graceful stop and reports it; after the restart it is not run again', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    p.sendAssignment(fresh(now, { workload: { ...fresh(now).workload, command: ['/bin/sh', '-c', 'sleep 30'] } }));
    await until(() => p.record.reportsOf('job-1.1').some((r) => r.kind === 'started'), 'the start');
    await p.orbital.stop();
    await p.startOrbital();
    await until(() => p.record.finished('job-1.1') !== undefined, 'the cancellation report');
    expect(p.record.finished('job-1.1')).toMatchObject({ reasonCode: 'agent-stopped', finished: { outcome: 'cancelled' } });
    expect(p.orbital.status()).toMatchObject({ running: [], waiting: 0 });
  });

  it('applies a signed contact plan update at once, keeps it on disk, and ignores stale or forged ones', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    const now = p.clock.now();
    const newer = new ContactPlan({ epochMs: p.plan.epochMs, nodes: [], contacts: [...linkContacts(0, 86_400), ...linkContacts(90_000, 91_000)] });
    const update = (issuedAtMs: number, seed = SCHEDULER_SEED): Uint8Array =>
      encodeContactPlanUpdate(signContactPlanUpdate({ chainId: CHAIN_ID, issuedAtMs, planEpochMs: undefined, planText: planText(newer) }, seed));
    p.sendRaw(SERVICE_NUMBERS.contactPlans, update(now, OTHER_SEED));
    p.sendRaw(SERVICE_NUMBERS.contactPlans, update(now));
    await until(() => p.orbital.status().planIssuedAtMs === now, 'the update');
    expect(p.events('orbital.plan-update-refused')).toHaveLength(1);
    const stored = JSON.parse(readFileSync(join(p.dir, 'contact-plan.json'), 'utf8')) as { issuedAtMs: number };
    expect(stored.issuedAtMs).toBe(now);
    p.sendRaw(SERVICE_NUMBERS.contactPlans, update(now - 1));
    await until(() => p.events('orbital.plan-update-stale').length === 1, 'the stale update');
    expect(p.orbital.status().planIssuedAtMs).toBe(now);
    // The agent still works on the new plan.
    p.sendAssignment(fresh(now));
    await until(() => p.record.finished('job-1.1') !== undefined, 'a job on the new plan');
    expect(existsSync(join(p.dir, 'contact-plan.json.tmp'))).toBe(false);
  });

  it('sends each receipt as consensus encodes it', async () => {
    pair = await LoopbackPair.open();
    const p = pair;
    p.sendAssignment(fresh(p.clock.now()));
    await until(() => p.record.receipts.length === 1, 'the receipt');
    expect(Buffer.from(p.record.raw.get(SERVICE_NUMBERS.receipts)![0]!).equals(Buffer.from(encodeSignedReceipt(p.record.receipts[0]!)))).toBe(true);
  });
});

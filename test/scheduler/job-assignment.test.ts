// The scheduler ↔ node protocol as bundle payloads: canonical bytes that round trip and decode only
// to themselves, signatures under one domain tag per message, every verdict an assignment can get,
// and strict decoding of malformed bytes with one code family per message.
import { describe, expect, it } from 'vitest';
import { OrbitfedError, seededRng } from '../../common/index.ts';
import { ed25519Sign, sha256, signingBytes, SIGNING_DOMAINS } from '../../consensus/index.ts';
import { encodeCbor } from '../../dtn/index.ts';
import {
  decodeContactPlanUpdate, decodeJobAssignment, decodeJobInputPart, decodeJobResult, decodeNodeReport, decodeTelemetryPayload,
  encodeContactPlanUpdate, encodeJobAssignment, encodeJobInputPart, encodeJobResult, encodeNodeReport, encodeTelemetryPayload,
  inputPartMatches, JOB_PROTOCOL_LIMITS, jobAssignmentSigningBytes, reportReasonText, SERVICE_NUMBERS, signContactPlanUpdate, signJobAssignment,
  signJobResult, signNodeReport, verifyContactPlanUpdate, verifyJobAssignment, verifyJobResult, verifyNodeReport,
  type AssignmentCheckContext, type NodeReport, type SignedJobAssignment,
} from '../../scheduler/index.ts';
import {
  assignmentOf, CHAIN_ID, HOUR_MS, NODE_PUBLIC_KEY, NODE_SEED, OTHER_SEED, partsInput, SCHEDULER_PUBLIC_KEY, SCHEDULER_SEED, T0_MS,
} from '../orbital/assignment-fixtures.ts';

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    return error instanceof OrbitfedError ? error.code : `not an OrbitfedError: ${String(error)}`;
  }
  return undefined;
};

const context = (fields: Partial<AssignmentCheckContext> = {}): AssignmentCheckContext => ({
  chainId: CHAIN_ID, nodeId: 'sat-1', schedulerPublicKey: SCHEDULER_PUBLIC_KEY, nowMs: T0_MS + 60_000, clockSkewMsMax: 5 * 60_000, ...fields,
});

const reportOf = (fields: Partial<NodeReport> = {}): NodeReport => ({
  chainId: CHAIN_ID, nodeId: 'sat-1', sequence: 3, kind: 'accepted', jobId: 'job-1', assignmentId: 'job-1.1', atMs: T0_MS + 1_000,
  reasonCode: '', reason: '', finished: undefined, ...fields,
});

describe('service numbers', () => {
  it('give each message its own ipn service', () => {
    expect(SERVICE_NUMBERS).toEqual({ assignments: 1, reports: 2, results: 3, receipts: 4, telemetry: 5, contactPlans: 6, inputs: 7 });
  });
});

describe('job assignments', () => {
  it('sign CBOR ["orbitfed/job-assignment/v1", chain id, [1, …]] with the inline input entering through its SHA-256', () => {
    const assignment = assignmentOf();
    const bytes = jobAssignmentSigningBytes(assignment);
    expect(toHex(bytes.subarray(0, 2))).toBe('8378');
    expect(Buffer.from(bytes.subarray(3, 3 + bytes[2]!)).toString()).toBe('orbitfed/job-assignment/v1');
    expect(Buffer.from(bytes).includes(Buffer.from(sha256((assignment.input as { bytes: Uint8Array }).bytes)))).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from('hello from the ground'))).toBe(false);
  });

  it('round-trip through wire bytes that decode only to themselves, inline or as parts', () => {
    for (const assignment of [assignmentOf(), assignmentOf({ input: partsInput([new Uint8Array(10), new Uint8Array(20).fill(1)]), escrowId: undefined })]) {
      const signed = signJobAssignment(assignment, SCHEDULER_SEED);
      const bytes = encodeJobAssignment(signed);
      const decoded = decodeJobAssignment(bytes);
      expect(decoded).toEqual(signed);
      expect(toHex(encodeJobAssignment(decoded))).toBe(toHex(bytes));
      expect(verifyJobAssignment(decoded, context())).toEqual({ ok: true });
    }
  });

  it('carry a docker workload with its image, and env sorted by name whatever order it was given in', () => {
    const assignment = assignmentOf({ workload: { ...assignmentOf().workload, runtime: 'docker', image: 'orbitfed-busybox:test', env: { Z: '1', B: '2', A: '3' } } });
    const decoded = decodeJobAssignment(encodeJobAssignment(signJobAssignment(assignment, SCHEDULER_SEED)));
    expect(decoded.assignment.workload.image).toBe('orbitfed-busybox:test');
    expect(Object.keys(decoded.assignment.workload.env)).toEqual(['A', 'B', 'Z']);
  });

  it('are refused, with a reason, for another chain, another node, a bad window, too early, too late', () => {
    const signed = signJobAssignment(assignmentOf(), SCHEDULER_SEED);
    expect(verifyJobAssignment(signed, context({ chainId: 'other-chain' }))).toMatchObject({ ok: false, reason: 'wrong-chain' });
    expect(verifyJobAssignment(signed, context({ nodeId: 'sat-2' }))).toMatchObject({ ok: false, reason: 'wrong-node' });
    const backwards = signJobAssignment(assignmentOf({ notAfterMs: T0_MS }), SCHEDULER_SEED);
    expect(verifyJobAssignment(backwards, context())).toMatchObject({ ok: false, reason: 'invalid-validity-window' });
    expect(verifyJobAssignment(signed, context({ nowMs: T0_MS - 6 * 60_000 }))).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    expect(verifyJobAssignment(signed, context({ nowMs: T0_MS - 4 * 60_000 }))).toEqual({ ok: true });
    expect(verifyJobAssignment(signed, context({ nowMs: T0_MS + 4 * HOUR_MS }))).toEqual({ ok: true });
    expect(verifyJobAssignment(signed, context({ nowMs: T0_MS + 4 * HOUR_MS + 1 }))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('signed by another key, under another domain tag, or with altered input do not verify', () => {
    const assignment = assignmentOf();
    expect(verifyJobAssignment(signJobAssignment(assignment, OTHER_SEED), context())).toMatchObject({ ok: false, reason: 'bad-signature' });
    const body = decodeFirstArray(jobAssignmentSigningBytes(assignment))[2] as never;
    const underReportTag: SignedJobAssignment = { assignment, signature: ed25519Sign(SCHEDULER_SEED, signingBytes(SIGNING_DOMAINS.nodeReport, CHAIN_ID, body)) };
    expect(verifyJobAssignment(underReportTag, context())).toMatchObject({ ok: false, reason: 'bad-signature' });
    const signed = signJobAssignment(assignment, SCHEDULER_SEED);
    const altered: SignedJobAssignment = { ...signed, assignment: { ...assignment, input: { kind: 'inline', bytes: new TextEncoder().encode('hello from a thief\n') } } };
    expect(verifyJobAssignment(decodeJobAssignment(encodeJobAssignment(altered)), context())).toMatchObject({ ok: false, reason: 'bad-signature' });
    const cheaper: SignedJobAssignment = { ...signed, assignment: { ...assignment, priceMinor: 1n } };
    expect(verifyJobAssignment(cheaper, context())).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuse malformed bytes with one precise code each', () => {
    const bytes = encodeJobAssignment(signJobAssignment(assignmentOf(), SCHEDULER_SEED));
    expect(codeOf(() => decodeJobAssignment(bytes.subarray(0, bytes.length - 1)))).toBe('ORBITFED_ASSIGNMENT_TRUNCATED');
    expect(codeOf(() => decodeJobAssignment(Buffer.concat([bytes, Buffer.from([0])])))).toBe('ORBITFED_ASSIGNMENT_TRAILING_BYTES');
    expect(codeOf(() => decodeJobAssignment(new Uint8Array(400 * 1024)))).toBe('ORBITFED_ASSIGNMENT_TOO_LARGE');
    expect(codeOf(() => decodeJobAssignment(new Uint8Array(0)))).toBe('ORBITFED_ASSIGNMENT_TRUNCATED');
    expect(codeOf(() => decodeJobAssignment(Buffer.from('{"jobId":"job-1"}')))).toBe('ORBITFED_ASSIGNMENT_INVALID');
    expect(codeOf(() => decodeJobAssignment(encodeCbor([2, CHAIN_ID])))).toBe('ORBITFED_ASSIGNMENT_INVALID');
    // A long-form head for the version (0x18 0x01 instead of 0x01) is not canonical CBOR.
    const longForm = Buffer.concat([bytes.subarray(0, 1), Buffer.from([0x18, 0x01]), bytes.subarray(2)]);
    expect(codeOf(() => decodeJobAssignment(longForm))).toBe('ORBITFED_ASSIGNMENT_MALFORMED');
  });

  it('refuse fields out of range when decoding as when encoding, naming the field', () => {
    const signature = new Uint8Array(64);
    const badStation = assignmentOf({ result: { ...assignmentOf().result, stations: ['ipn:10.2'] } });
    expect(() => encodeJobAssignment({ assignment: badStation, signature })).toThrow(/result\.stations\[0\]: ipn:10\.2 is not service 3/);
    const noImage = assignmentOf({ workload: { ...assignmentOf().workload, runtime: 'docker' } });
    expect(codeOf(() => encodeJobAssignment({ assignment: noImage, signature }))).toBe('ORBITFED_ASSIGNMENT_INVALID');
    const tooLarge = assignmentOf({ input: { kind: 'inline', bytes: new Uint8Array(JOB_PROTOCOL_LIMITS.inlineInputBytesMax + 1) } });
    expect(codeOf(() => encodeJobAssignment({ assignment: tooLarge, signature }))).toBe('ORBITFED_ASSIGNMENT_INVALID');
    const badEnv = assignmentOf({ workload: { ...assignmentOf().workload, env: { 'NOT=OK': '1' } } });
    expect(() => encodeJobAssignment({ assignment: badEnv, signature })).toThrow(/workload\.env\.NOT=OK/);
    // Env names out of order on the wire: written by hand, since our writer sorts them.
    const wire = decodeFirstArray(encodeJobAssignment({ assignment: assignmentOf(), signature }));
    const workload = wire[6] as unknown[];
    workload[3] = [...(workload[3] as unknown[])].reverse();
    expect(() => decodeJobAssignment(encodeCbor(wire as never))).toThrow(/workload\.env\[1\]\.name: "A_FIRST" does not come after "MODE"/);
  });

  it('survive a thousand random corruptions with OrbitfedErrors of their own family only (seed 8)', () => {
    const rng = seededRng(8);
    const bytes = encodeJobAssignment(signJobAssignment(assignmentOf(), SCHEDULER_SEED));
    const codes = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const corrupt = Buffer.from(bytes);
      const flips = 1 + Math.floor(rng() * 4);
      for (let f = 0; f < flips; f++) corrupt[Math.floor(rng() * corrupt.length)] = Math.floor(rng() * 256);
      const cut = rng() < 0.2 ? corrupt.subarray(0, Math.floor(rng() * corrupt.length)) : corrupt;
      if (cut.equals(bytes)) continue;
      try {
        const decoded = decodeJobAssignment(cut);
        codes.add(verifyJobAssignment(decoded, context()).ok ? 'verified' : 'refused');
      } catch (error) {
        expect(error).toBeInstanceOf(OrbitfedError);
        expect((error as OrbitfedError).code).toMatch(/^ORBITFED_ASSIGNMENT_/);
        codes.add((error as OrbitfedError).code);
      }
    }
    expect(codes.has('verified')).toBe(false);
  });
});

describe('node reports', () => {
  it('round-trip signed by the node, and verify only under its key', () => {
    const finished = reportOf({
      kind: 'finished', sequence: 9, reasonCode: 'exited', reason: 'exited with code 0',
      finished: { outcome: 'succeeded', exitCode: 0, usage: { cpuMs: 12, memoryPeakBytes: undefined, wallMs: 40 }, resultSizeBytes: 5, resultSha256: sha256(new Uint8Array(5)), resultSent: true },
    });
    for (const report of [reportOf(), finished, reportOf({ kind: 'refused', jobId: '', assignmentId: '', reasonCode: 'malformed', reason: 'not CBOR' })]) {
      const signed = signNodeReport(report, NODE_SEED);
      const bytes = encodeNodeReport(signed);
      expect(bytes.length).toBeLessThanOrEqual(JOB_PROTOCOL_LIMITS.reportBytesMax);
      const decoded = decodeNodeReport(bytes);
      expect(decoded).toEqual(signed);
      expect(verifyNodeReport(decoded, NODE_PUBLIC_KEY)).toBe(true);
      expect(verifyNodeReport(decoded, SCHEDULER_PUBLIC_KEY)).toBe(false);
    }
  });

  it('carry finished details exactly in finished reports, and a reason code in refusals', () => {
    const signature = new Uint8Array(64);
    expect(() => encodeNodeReport({ report: reportOf({ kind: 'finished' }), signature })).toThrow(/finished: is present exactly in a finished report/);
    expect(() => encodeNodeReport({ report: reportOf({ kind: 'refused' }), signature })).toThrow(/reasonCode: a refusal says why/);
    expect(codeOf(() => encodeNodeReport({ report: reportOf({ jobId: '' }), signature }))).toBe('ORBITFED_NODE_REPORT_INVALID');
    expect(codeOf(() => decodeNodeReport(Buffer.from('garbage')))).toMatch(/^ORBITFED_NODE_REPORT_/);
  });

  it('cut long reasons to what a report carries', () => {
    const text = reportReasonText(`${'é'.repeat(1_000)}\0`);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(JOB_PROTOCOL_LIMITS.reasonBytesMax);
    expect(text.endsWith('...')).toBe(true);
    expect(reportReasonText('a\0b')).toBe('a?b');
  });
});

describe('job results', () => {
  it('round-trip signed over the SHA-256 of their bytes; altered bytes do not verify', () => {
    const result = { chainId: CHAIN_ID, nodeId: 'sat-1', jobId: 'job-1', assignmentId: 'job-1.1', outcome: 'succeeded' as const, tenantEndpoint: 't', atMs: T0_MS, bytes: new Uint8Array(3000).fill(5) };
    const signed = signJobResult(result, NODE_SEED);
    const decoded = decodeJobResult(encodeJobResult(signed));
    expect(decoded).toEqual(signed);
    expect(verifyJobResult(decoded, NODE_PUBLIC_KEY)).toBe(true);
    const altered = { ...decoded, result: { ...decoded.result, bytes: new Uint8Array(3000).fill(6) } };
    expect(verifyJobResult(decodeJobResult(encodeJobResult(altered)), NODE_PUBLIC_KEY)).toBe(false);
    expect(codeOf(() => decodeJobResult(encodeCbor([1])))).toBe('ORBITFED_JOB_RESULT_INVALID');
  });
});

describe('contact plan updates and input parts', () => {
  it('sign plan text by its SHA-256 and verify under the scheduler key and chain only', () => {
    const signed = signContactPlanUpdate({ chainId: CHAIN_ID, issuedAtMs: T0_MS, planEpochMs: T0_MS, planText: 'a contact +0 +600 1 10 1000\n' }, SCHEDULER_SEED);
    const decoded = decodeContactPlanUpdate(encodeContactPlanUpdate(signed));
    expect(decoded).toEqual(signed);
    expect(verifyContactPlanUpdate(decoded, CHAIN_ID, SCHEDULER_PUBLIC_KEY)).toBe(true);
    expect(verifyContactPlanUpdate(decoded, 'other', SCHEDULER_PUBLIC_KEY)).toBe(false);
    expect(verifyContactPlanUpdate(decoded, CHAIN_ID, NODE_PUBLIC_KEY)).toBe(false);
  });

  it('match input parts to the assignment by id, size and SHA-256', () => {
    const bytes = new Uint8Array(100).fill(3);
    const input = partsInput([bytes]);
    if (input.kind !== 'parts') throw new Error('parts expected');
    const part = decodeJobInputPart(encodeJobInputPart({ inputId: 'job-1.in-0', bytes }));
    expect(inputPartMatches(part, input.parts[0]!)).toBe(true);
    expect(inputPartMatches({ ...part, bytes: new Uint8Array(100).fill(4) }, input.parts[0]!)).toBe(false);
    expect(codeOf(() => decodeJobInputPart(encodeCbor([1, '../etc', new Uint8Array(1)])))).toBe('ORBITFED_JOB_INPUT_INVALID');
  });
});

describe('telemetry', () => {
  it('travels as JSON and refuses what is not its shape', () => {
    const payload = { nodeId: 'sat-1', atMs: T0_MS, housekeeping: { uptimeSec: 5, disks: [] } };
    expect(decodeTelemetryPayload(encodeTelemetryPayload(payload))).toEqual(payload);
    expect(codeOf(() => decodeTelemetryPayload(Buffer.from([0xff, 0xfe])))).toBe('ORBITFED_TELEMETRY_MALFORMED');
    expect(codeOf(() => decodeTelemetryPayload(Buffer.from('[1]')))).toBe('ORBITFED_TELEMETRY_INVALID');
    expect(codeOf(() => decodeTelemetryPayload(Buffer.from('{"nodeId":"sat-1","atMs":1}')))).toBe('ORBITFED_TELEMETRY_INVALID');
    expect(codeOf(() => decodeTelemetryPayload(new Uint8Array(JOB_PROTOCOL_LIMITS.telemetryBytesMax + 1)))).toBe('ORBITFED_TELEMETRY_TOO_LARGE');
  });
});

/** The items of a CBOR array (a test-side reader through the codec under test is circular; cbor-x would do, but only dtn may import it). */
function decodeFirstArray(bytes: Uint8Array): unknown[] {
  return decodeCborValue(Buffer.from(bytes), { at: 0 }) as unknown[];
}

function decodeCborValue(bytes: Buffer, cursor: { at: number }): unknown {
  const initial = bytes[cursor.at++]!;
  const major = initial >> 5;
  const additional = initial & 31;
  let argument: bigint;
  if (additional < 24) argument = BigInt(additional);
  else {
    const width = 1 << (additional - 24);
    argument = 0n;
    for (let i = 0; i < width; i++) argument = (argument << 8n) | BigInt(bytes[cursor.at++]!);
  }
  const n = Number(argument);
  switch (major) {
    case 0:
      return argument > BigInt(Number.MAX_SAFE_INTEGER) || argument >= 2n ** 32n ? (argument > BigInt(Number.MAX_SAFE_INTEGER) ? argument : n) : n;
    case 2: {
      const value = new Uint8Array(bytes.subarray(cursor.at, cursor.at + n));
      cursor.at += n;
      return value;
    }
    case 3: {
      const value = bytes.subarray(cursor.at, cursor.at + n).toString('utf8');
      cursor.at += n;
      return value;
    }
    case 4:
      return Array.from({ length: n }, () => decodeCborValue(bytes, cursor));
    case 7:
      return additional === 21;
    default:
      throw new Error(`major type ${major} not expected in a test vector`);
  }
}

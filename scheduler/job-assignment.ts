// The wire protocol between the scheduler and the nodes (issue 8), carried as BPv7 bundle payloads.
// Every message is deterministic CBOR (dtn/'s shortest-form writer, definite lengths, no maps, no
// floats, fields at fixed positions) and decoded strictly (consensus' `decodeCanonical`: size cap
// first, our strict reader, nothing trailing, the value re-encodes to exactly its input).
//
// Services (the `S` of the ipn:N.S endpoint a bundle is addressed to; scheduler/README.md):
//   1 assignments  scheduler → node   SignedJobAssignment          signed by the scheduler's key
//   2 reports      node → scheduler   SignedNodeReport             signed by the node's key
//   3 results      node → station     SignedJobResult              signed by the node's key
//   4 receipts     node → gateway     consensus' encodeSignedReceipt, submitted to the validators
//   5 telemetry    node → station     TelemetryPayload (UTF-8 JSON, unsigned)
//   6 plans        scheduler → node   SignedContactPlanUpdate      signed by the scheduler's key
//   7 inputs       station → node     JobInputPart (unsigned: the signed assignment carries its SHA-256)
//
// Signed bytes are consensus' `signingBytes(domain tag, chain id, [version, …body])` with one domain
// tag per message (SIGNING_DOMAINS.jobAssignment, .nodeReport, .jobResult, .contactPlanUpdate), so a
// signature over one kind of message never verifies as another, nor on another chain. Large byte
// fields (inline input, result bytes, plan text) are signed through their SHA-256, which keeps the
// signed message below ed25519's 64 KiB bound; the decoder checks the digest.
//
// Wire forms (each an array; "opt" is [] or [value]; EIDs are text, "ipn:N.S"):
//   assignment  [1, chainId, assignmentId, jobId, ledgerJobId, nodeId,
//                [runtime, image opt, [command…], [[name, value]… sorted by name], cpuMillicores,
//                 memoryBytes, diskBytes, gpus, executionMs, timeoutMs],
//                input: [0, bytes] | [1, [[inputId, sizeBytes, sha256]…]],
//                [[stationEid…], tenantEndpoint, resultBytesMax], reportTo, deadlineMs, escrowId opt,
//                priceMinor, currency, issuedAtMs, notAfterMs, signature]
//     signed with input [0, size, sha256(bytes)] | [1, parts] in place of the wire input.
//   report      [1, chainId, nodeId, sequence, kind, jobId, assignmentId, atMs, reasonCode, reason,
//                finished opt: [outcome, exitCode opt, [cpuMs, memoryPeakBytes opt, wallMs],
//                resultSizeBytes, resultSha256, resultSent], signature]
//   result      [1, chainId, nodeId, jobId, assignmentId, outcome, tenantEndpoint, atMs, bytes, signature]
//     signed with [size, sha256(bytes)] in place of the bytes.
//   plan update [1, chainId, issuedAtMs, planEpochMs opt, planText, signature]
//     signed with [size, sha256(planText as UTF-8)] in place of the text.
//   input part  [1, inputId, bytes]
//
// Errors: decoding throws OrbitfedError with the message's code family — ORBITFED_ASSIGNMENT_,
// ORBITFED_NODE_REPORT_, ORBITFED_JOB_RESULT_, ORBITFED_PLAN_UPDATE_, ORBITFED_JOB_INPUT_,
// ORBITFED_TELEMETRY_ + TOO_LARGE, TRUNCATED, MALFORMED, INVALID, TRAILING_BYTES — naming the field.
// Verification returns a verdict with one reason (cheap checks first, the signature last).
import { OrbitfedError } from '../common/index.ts';
import {
  AMOUNT_MINOR_MAX, CURRENCY_PATTERN, decodeCanonical, ed25519Sign, ed25519Verify, ID_PATTERN, sha256, SIGNING_DOMAINS, signingBytes,
  checkChainId, bytesEqual, type CanonicalFormat, type Ed25519Signer,
} from '../consensus/node.ts';
import { encodeCbor, parseEid, type CborReader, type CborValue } from '../dtn/index.ts';

export const JOB_PROTOCOL_VERSION = 1;

/** The ipn service numbers of the protocol's endpoints (see the header). */
export const SERVICE_NUMBERS = {
  assignments: 1,
  reports: 2,
  results: 3,
  receipts: 4,
  telemetry: 5,
  contactPlans: 6,
  inputs: 7,
} as const;

/** Bounds of every message, checked when encoding and before and while decoding. */
export const JOB_PROTOCOL_LIMITS = {
  /** Inline input travels inside the assignment; larger input goes as input parts (service 7). */
  inlineInputBytesMax: 256 * 1024,
  /** Everything in an assignment but the inline input. */
  assignmentFieldsBytesMax: 48 * 1024,
  inputPartsMax: 64,
  /** One input part's bytes (the bundle agent fragments larger bundles to fit contacts). */
  inputPartBytesMax: 64 * 1024 * 1024,
  resultBytesMax: 64 * 1024 * 1024,
  commandArgsMax: 64,
  commandBytesMax: 16 * 1024,
  envEntriesMax: 64,
  envBytesMax: 16 * 1024,
  imageBytesMax: 512,
  stationsMax: 8,
  eidBytesMax: 64,
  tenantEndpointBytesMax: 512,
  reasonBytesMax: 512,
  reasonCodeBytesMax: 48,
  reportBytesMax: 2 * 1024,
  planTextBytesMax: 16 * 1024 * 1024,
  telemetryBytesMax: 64 * 1024,
  cpuMillicoresMax: 1024 * 1000,
} as const;

const TIME_MS_MAX = Number.MAX_SAFE_INTEGER;
const SHA256_BYTES = 32;
const SIGNATURE_BYTES = 64;
const ID_BYTES_MAX = 64;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const REASON_CODE = /^[a-z][a-z0-9-]*$/;

// ---------------------------------------------------------------------------------------------
// Types

export type AssignedRuntime = 'process' | 'docker';
const RUNTIMES: readonly AssignedRuntime[] = ['process', 'docker'];

/** What to run and within which limits: the JobSpec fields the node needs. */
export interface AssignedWorkload {
  readonly runtime: AssignedRuntime;
  /** Docker only: a local image reference. */
  readonly image: string | undefined;
  /** argv, never a shell; for Docker it replaces the image's entrypoint. */
  readonly command: readonly string[];
  /** The workload's environment (names [A-Za-z_][A-Za-z0-9_]*). */
  readonly env: Readonly<Record<string, string>>;
  /** CPU in thousandths of a core (JobSpec `resources.cpu` × 1000, rounded up). */
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly gpus: number;
  /** Expected run time (JobSpec `executionMs`). */
  readonly executionMs: number;
  /** The workload is stopped after this much wall time. */
  readonly timeoutMs: number;
}

/** One piece of a job's input, sent on its own as a bundle to the node's inputs service. */
export interface InputPartRef {
  readonly inputId: string;
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
}

export type AssignmentInput =
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  | { readonly kind: 'parts'; readonly parts: readonly InputPartRef[] };

export interface ResultDestination {
  /** ipn EIDs of the stations the result may go to (results service), in order of preference. */
  readonly stations: readonly string[];
  /** Where the station delivers the result for the tenant (opaque to the node). */
  readonly tenantEndpoint: string;
  /** The largest result the job may return (JobSpec `result.sizeBytes`). */
  readonly resultBytesMax: number;
}

export interface JobAssignment {
  readonly chainId: string;
  /** One attempt of one job on one node; a node runs an assignment at most once. */
  readonly assignmentId: string;
  readonly jobId: string;
  /** The job as the ledger's escrow and the node's receipt name it ("<job>.<attempt>"). */
  readonly ledgerJobId: string;
  readonly nodeId: string;
  readonly workload: AssignedWorkload;
  readonly input: AssignmentInput;
  readonly result: ResultDestination;
  /** ipn EID (reports service) where the node's reports about this assignment go. */
  readonly reportTo: string;
  /** Unix ms by which the result must be at a station. */
  readonly deadlineMs: number;
  /** The escrow holding the price, if any. */
  readonly escrowId: string | undefined;
  /** What the node may charge for the job, in minor units of `currency` (its receipt's ceiling). */
  readonly priceMinor: bigint;
  readonly currency: string;
  readonly issuedAtMs: number;
  /** The node must not start the job after this. */
  readonly notAfterMs: number;
}

export interface SignedJobAssignment {
  readonly assignment: JobAssignment;
  readonly signature: Uint8Array;
}

export type NodeReportKind = 'accepted' | 'refused' | 'started' | 'heartbeat' | 'finished';
const REPORT_KINDS: readonly NodeReportKind[] = ['accepted', 'refused', 'started', 'heartbeat', 'finished'];

/**
 * How a job ended on the node: the runtime's five outcomes (runtime/README.md), plus `expired`
 * (never started before the assignment's notAfterMs, e.g. its input did not arrive) and `lost`
 * (it was running when the agent restarted; it is not run again).
 */
export type JobOutcome = 'succeeded' | 'failed' | 'timed-out' | 'killed-memory' | 'cancelled' | 'expired' | 'lost';
export const JOB_OUTCOMES: readonly JobOutcome[] = ['succeeded', 'failed', 'timed-out', 'killed-memory', 'cancelled', 'expired', 'lost'];

export interface JobRunUsage {
  readonly cpuMs: number;
  /** Undefined when the system could not tell. */
  readonly memoryPeakBytes: number | undefined;
  readonly wallMs: number;
}

export interface FinishedDetail {
  readonly outcome: JobOutcome;
  /** Undefined when the job did not exit by itself (signal, never started). */
  readonly exitCode: number | undefined;
  readonly usage: JobRunUsage;
  readonly resultSizeBytes: number;
  /** SHA-256 of the result bytes (of nothing when there is no result). */
  readonly resultSha256: Uint8Array;
  /** Whether a result bundle was stored for the stations (false: none, or dropped for lack of room). */
  readonly resultSent: boolean;
}

export interface NodeReport {
  readonly chainId: string;
  readonly nodeId: string;
  /** The node's own report counter: (nodeId, sequence) names a report; it never repeats. */
  readonly sequence: number;
  readonly kind: NodeReportKind;
  /** Empty only in a refusal of an assignment that could not be read. */
  readonly jobId: string;
  readonly assignmentId: string;
  readonly atMs: number;
  /** A stable code for refusals and endings ('bad-signature', 'agent-restarted', …); '' otherwise. */
  readonly reasonCode: string;
  /** Why, in words; '' when there is nothing to say. */
  readonly reason: string;
  /** Present exactly when kind is 'finished'. */
  readonly finished: FinishedDetail | undefined;
}

export interface SignedNodeReport {
  readonly report: NodeReport;
  readonly signature: Uint8Array;
}

/** A job's result, sent by the node toward a result station (named JobResultPayload: the scheduler's job store has a JobResult). */
export interface JobResultPayload {
  readonly chainId: string;
  readonly nodeId: string;
  readonly jobId: string;
  readonly assignmentId: string;
  readonly outcome: JobOutcome;
  readonly tenantEndpoint: string;
  readonly atMs: number;
  readonly bytes: Uint8Array;
}

export interface SignedJobResult {
  readonly result: JobResultPayload;
  readonly signature: Uint8Array;
}

export interface ContactPlanUpdate {
  readonly chainId: string;
  /** Updates apply in this order; a node ignores one not newer than the plan it has. */
  readonly issuedAtMs: number;
  /** Unix ms of the plan's second 0, for plans without an epoch of their own (ION, HDTN). */
  readonly planEpochMs: number | undefined;
  /** The plan in any format contact-plans/ reads (ION, HDTN JSON, orbitfed JSON). */
  readonly planText: string;
}

export interface SignedContactPlanUpdate {
  readonly update: ContactPlanUpdate;
  readonly signature: Uint8Array;
}

export interface JobInputPart {
  readonly inputId: string;
  readonly bytes: Uint8Array;
}

/** Housekeeping telemetry as it travels: plain JSON, so a station can republish it as is. */
export interface TelemetryPayload {
  readonly nodeId: string;
  readonly atMs: number;
  /** orbital/'s HousekeepingRecord (orbital/README.md), or whatever the node reports. */
  readonly housekeeping: Readonly<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------
// Shared checks

interface Codes {
  readonly tooLarge: string;
  readonly truncated: string;
  readonly malformed: string;
  readonly invalid: string;
  readonly trailing: string;
}

function codesOf(prefix: string): Codes {
  return {
    tooLarge: `${prefix}_TOO_LARGE`, truncated: `${prefix}_TRUNCATED`, malformed: `${prefix}_MALFORMED`, invalid: `${prefix}_INVALID`,
    trailing: `${prefix}_TRAILING_BYTES`,
  };
}

const ASSIGNMENT_CODES = codesOf('ORBITFED_ASSIGNMENT');
const REPORT_CODES = codesOf('ORBITFED_NODE_REPORT');
const RESULT_CODES = codesOf('ORBITFED_JOB_RESULT');
const PLAN_CODES = codesOf('ORBITFED_PLAN_UPDATE');
const INPUT_CODES = codesOf('ORBITFED_JOB_INPUT');
const TELEMETRY_CODES = codesOf('ORBITFED_TELEMETRY');

/** Field checks that throw `code` naming the field. */
class Checker {
  readonly #code: string;

  constructor(code: string) {
    this.#code = code;
  }

  fail(field: string, message: string): never {
    throw new OrbitfedError(this.#code, message, { field });
  }

  id(value: string, field: string, allowEmpty = false): void {
    if (allowEmpty && value === '') return;
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) this.fail(field, `${JSON.stringify(value)} is not 1–64 of [A-Za-z0-9._:-] starting with a letter or digit`);
  }

  count(value: number, max: number, field: string, min = 0): void {
    if (!Number.isSafeInteger(value) || value < min || value > max) this.fail(field, `${String(value)} is not an integer in ${min} … ${max}`);
  }

  text(value: string, maxBytes: number, field: string): void {
    if (typeof value !== 'string') this.fail(field, 'must be a string');
    if (Buffer.byteLength(value) > maxBytes) this.fail(field, `is ${Buffer.byteLength(value)} bytes, more than ${maxBytes}`);
    if (value.includes('\0')) this.fail(field, 'contains a NUL character');
  }

  chainId(value: string): void {
    try {
      checkChainId(value);
    } catch (error) {
      this.fail('chainId', (error as Error).message);
    }
  }

  /** An ipn EID in text whose service number is `service` (when given). */
  ipnEid(value: string, field: string, service?: number): void {
    this.text(value, JOB_PROTOCOL_LIMITS.eidBytesMax, field);
    let eid;
    try {
      eid = parseEid(value);
    } catch (error) {
      this.fail(field, (error as Error).message);
    }
    if (eid.kind !== 'ipn') this.fail(field, `${value} is not an ipn endpoint`);
    if (service !== undefined && eid.serviceNumber !== BigInt(service)) this.fail(field, `${value} is not service ${service} of its node`);
  }

  digest(value: Uint8Array, field: string): void {
    if (!(value instanceof Uint8Array) || value.length !== SHA256_BYTES) this.fail(field, `a SHA-256 digest has ${SHA256_BYTES} bytes`);
  }

  bytes(value: Uint8Array, maxBytes: number, field: string): void {
    if (!(value instanceof Uint8Array)) this.fail(field, 'must be a Uint8Array');
    if (value.length > maxBytes) this.fail(field, `is ${value.length} bytes, more than ${maxBytes}`);
  }

  signature(value: Uint8Array): void {
    if (!(value instanceof Uint8Array) || value.length !== SIGNATURE_BYTES) this.fail('signature', `a signature has ${SIGNATURE_BYTES} bytes`);
  }
}

function readOptional<T>(reader: CborReader, field: string, read: () => T): T | undefined {
  const count = reader.readArrayHeader(field);
  if (count > 1) reader.fail('invalid', field, `an optional field has 0 or 1 items, this one ${count}`);
  return count === 1 ? read() : undefined;
}

const optional = <T>(value: T | undefined, encode: (v: T) => CborValue): CborValue[] => (value === undefined ? [] : [encode(value)]);

function readItems(reader: CborReader, field: string, expected: number): void {
  const count = reader.readArrayHeader(field);
  if (count !== expected) reader.fail('invalid', field, `has ${expected} items, this one ${count}`);
}

function readChoice<T extends string>(reader: CborReader, field: string, choices: readonly T[]): T {
  const value = reader.readText(field, 32);
  if (!(choices as readonly string[]).includes(value)) reader.fail('invalid', field, `${JSON.stringify(value)} is not one of ${choices.join(', ')}`);
  return value as T;
}

function readVersion(reader: CborReader): void {
  const version = reader.readUint('version');
  if (version !== JOB_PROTOCOL_VERSION) reader.fail('invalid', 'version', `protocol version ${version} is not ${JOB_PROTOCOL_VERSION}`);
}

function readSignature(reader: CborReader): Uint8Array {
  const signature = reader.readBytes('signature', SIGNATURE_BYTES);
  if (signature.length !== SIGNATURE_BYTES) reader.fail('invalid', 'signature', `a signature has ${SIGNATURE_BYTES} bytes, this one ${signature.length}`);
  return signature;
}

function formatOf(what: string, bytesMax: number, codes: Codes): CanonicalFormat {
  return { what, bytesMax, codes };
}

function sign(bytes: Uint8Array, key: Uint8Array | Ed25519Signer): Uint8Array {
  return key instanceof Uint8Array ? ed25519Sign(key, bytes) : key.sign(bytes);
}

// ---------------------------------------------------------------------------------------------
// Job assignment

const assignmentCheck: Checker = new Checker(ASSIGNMENT_CODES.invalid);

function validateWorkload(w: AssignedWorkload): void {
  const c = assignmentCheck;
  if (!RUNTIMES.includes(w.runtime)) c.fail('workload.runtime', `${JSON.stringify(w.runtime)} is not one of ${RUNTIMES.join(', ')}`);
  if (w.runtime === 'docker' && w.image === undefined) c.fail('workload.image', 'the docker runtime needs an image');
  if (w.runtime === 'process' && w.image !== undefined) c.fail('workload.image', 'the process runtime runs no images');
  if (w.image !== undefined) {
    c.text(w.image, JOB_PROTOCOL_LIMITS.imageBytesMax, 'workload.image');
    if (w.image === '' || /\s/.test(w.image)) c.fail('workload.image', 'an image reference is non-empty and has no white space');
  }
  if (!Array.isArray(w.command) || w.command.length === 0 || w.command.length > JOB_PROTOCOL_LIMITS.commandArgsMax) {
    c.fail('workload.command', `must have 1 … ${JOB_PROTOCOL_LIMITS.commandArgsMax} arguments`);
  }
  let commandBytes = 0;
  w.command.forEach((arg, i) => {
    c.text(arg, JOB_PROTOCOL_LIMITS.commandBytesMax, `workload.command[${i}]`);
    commandBytes += Buffer.byteLength(arg);
  });
  if (w.command[0] === '') c.fail('workload.command[0]', 'the program is empty');
  if (commandBytes > JOB_PROTOCOL_LIMITS.commandBytesMax) c.fail('workload.command', `is ${commandBytes} bytes, more than ${JOB_PROTOCOL_LIMITS.commandBytesMax}`);
  if (typeof w.env !== 'object' || w.env === null) c.fail('workload.env', 'must be an object of strings');
  const env = Object.entries(w.env);
  if (env.length > JOB_PROTOCOL_LIMITS.envEntriesMax) c.fail('workload.env', `has ${env.length} entries, more than ${JOB_PROTOCOL_LIMITS.envEntriesMax}`);
  let envBytes = 0;
  for (const [name, value] of env) {
    if (!ENV_NAME.test(name)) c.fail(`workload.env.${name}`, 'a variable name is [A-Za-z_][A-Za-z0-9_]*, at most 128 characters');
    c.text(value, JOB_PROTOCOL_LIMITS.envBytesMax, `workload.env.${name}`);
    envBytes += name.length + Buffer.byteLength(value);
  }
  if (envBytes > JOB_PROTOCOL_LIMITS.envBytesMax) c.fail('workload.env', `is ${envBytes} bytes, more than ${JOB_PROTOCOL_LIMITS.envBytesMax}`);
  c.count(w.cpuMillicores, JOB_PROTOCOL_LIMITS.cpuMillicoresMax, 'workload.cpuMillicores', 1);
  c.count(w.memoryBytes, Number.MAX_SAFE_INTEGER, 'workload.memoryBytes', 1);
  c.count(w.diskBytes, Number.MAX_SAFE_INTEGER, 'workload.diskBytes');
  c.count(w.gpus, 1024, 'workload.gpus');
  c.count(w.executionMs, TIME_MS_MAX, 'workload.executionMs', 1);
  c.count(w.timeoutMs, TIME_MS_MAX, 'workload.timeoutMs', 1);
}

/** Field formats and ranges of an assignment (not its validity window, which `verifyJobAssignment` judges). */
export function validateJobAssignment(a: JobAssignment): void {
  const c = assignmentCheck;
  c.chainId(a.chainId);
  c.id(a.assignmentId, 'assignmentId');
  c.id(a.jobId, 'jobId');
  c.id(a.ledgerJobId, 'ledgerJobId');
  c.id(a.nodeId, 'nodeId');
  validateWorkload(a.workload);
  if (a.input.kind === 'inline') {
    c.bytes(a.input.bytes, JOB_PROTOCOL_LIMITS.inlineInputBytesMax, 'input.bytes');
  } else if (a.input.kind === 'parts') {
    const parts = a.input.parts;
    if (!Array.isArray(parts) || parts.length === 0 || parts.length > JOB_PROTOCOL_LIMITS.inputPartsMax) {
      c.fail('input.parts', `must list 1 … ${JOB_PROTOCOL_LIMITS.inputPartsMax} parts`);
    }
    const ids = new Set<string>();
    parts.forEach((part, i) => {
      c.id(part.inputId, `input.parts[${i}].inputId`);
      if (ids.has(part.inputId)) c.fail(`input.parts[${i}].inputId`, `${part.inputId} is listed twice`);
      ids.add(part.inputId);
      c.count(part.sizeBytes, JOB_PROTOCOL_LIMITS.inputPartBytesMax, `input.parts[${i}].sizeBytes`);
      c.digest(part.sha256, `input.parts[${i}].sha256`);
    });
  } else {
    c.fail('input.kind', 'is inline or parts');
  }
  const r = a.result;
  if (!Array.isArray(r.stations) || r.stations.length === 0 || r.stations.length > JOB_PROTOCOL_LIMITS.stationsMax) {
    c.fail('result.stations', `must list 1 … ${JOB_PROTOCOL_LIMITS.stationsMax} station EIDs`);
  }
  r.stations.forEach((eid, i) => c.ipnEid(eid, `result.stations[${i}]`, SERVICE_NUMBERS.results));
  c.text(r.tenantEndpoint, JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax, 'result.tenantEndpoint');
  c.count(r.resultBytesMax, JOB_PROTOCOL_LIMITS.resultBytesMax, 'result.resultBytesMax');
  c.ipnEid(a.reportTo, 'reportTo', SERVICE_NUMBERS.reports);
  c.count(a.deadlineMs, TIME_MS_MAX, 'deadlineMs');
  if (a.escrowId !== undefined) c.id(a.escrowId, 'escrowId');
  if (typeof a.priceMinor !== 'bigint' || a.priceMinor < 0n || a.priceMinor > AMOUNT_MINOR_MAX) c.fail('priceMinor', `${String(a.priceMinor)} is not a bigint in 0 … 2^63 − 1`);
  if (typeof a.currency !== 'string' || !CURRENCY_PATTERN.test(a.currency)) c.fail('currency', `${JSON.stringify(a.currency)} is not a currency code (3–8 of [A-Z0-9], starting with a letter)`);
  c.count(a.issuedAtMs, TIME_MS_MAX, 'issuedAtMs');
  c.count(a.notAfterMs, TIME_MS_MAX, 'notAfterMs');
}

function workloadArray(w: AssignedWorkload): CborValue[] {
  const env = Object.keys(w.env).sort().map((name) => [name, w.env[name]!]);
  return [w.runtime, optional(w.image, (i) => i), [...w.command], env, w.cpuMillicores, w.memoryBytes, w.diskBytes, w.gpus, w.executionMs, w.timeoutMs];
}

const partArray = (p: InputPartRef): CborValue[] => [p.inputId, p.sizeBytes, p.sha256];

/** The body with `input` as given (wire or signed form). */
function assignmentBody(a: JobAssignment, input: CborValue[]): CborValue[] {
  return [
    a.assignmentId, a.jobId, a.ledgerJobId, a.nodeId, workloadArray(a.workload), input,
    [[...a.result.stations], a.result.tenantEndpoint, a.result.resultBytesMax], a.reportTo, a.deadlineMs, optional(a.escrowId, (e) => e),
    a.priceMinor, a.currency, a.issuedAtMs, a.notAfterMs,
  ];
}

/** The exact bytes the scheduler signs: the inline input enters through its size and SHA-256. */
export function jobAssignmentSigningBytes(a: JobAssignment): Uint8Array {
  validateJobAssignment(a);
  const input = a.input.kind === 'inline' ? [0, a.input.bytes.length, sha256(a.input.bytes)] : [1, a.input.parts.map(partArray)];
  const bytes = signingBytes(SIGNING_DOMAINS.jobAssignment, a.chainId, [JOB_PROTOCOL_VERSION, ...assignmentBody(a, input)]);
  if (bytes.length > JOB_PROTOCOL_LIMITS.assignmentFieldsBytesMax) {
    assignmentCheck.fail('assignment', `its signed fields are ${bytes.length} bytes, more than ${JOB_PROTOCOL_LIMITS.assignmentFieldsBytesMax}`);
  }
  return bytes;
}

/** Signs with the scheduler's key: a 32-byte seed, or a signer that keeps the key imported. */
export function signJobAssignment(assignment: JobAssignment, key: Uint8Array | Ed25519Signer): SignedJobAssignment {
  return { assignment, signature: sign(jobAssignmentSigningBytes(assignment), key) };
}

export function encodeJobAssignment(signed: SignedJobAssignment): Uint8Array {
  const a = signed.assignment;
  validateJobAssignment(a);
  assignmentCheck.signature(signed.signature);
  const input = a.input.kind === 'inline' ? [0, a.input.bytes] : [1, a.input.parts.map(partArray)];
  return encodeCbor([JOB_PROTOCOL_VERSION, a.chainId, ...assignmentBody(a, input), signed.signature]);
}

const ASSIGNMENT_BYTES_MAX = JOB_PROTOCOL_LIMITS.assignmentFieldsBytesMax + JOB_PROTOCOL_LIMITS.inlineInputBytesMax + 16;
const ASSIGNMENT_FORMAT = formatOf('job assignment', ASSIGNMENT_BYTES_MAX, ASSIGNMENT_CODES);

function readWorkload(reader: CborReader): AssignedWorkload {
  readItems(reader, 'workload', 10);
  const runtime = readChoice(reader, 'workload.runtime', RUNTIMES);
  const image = readOptional(reader, 'workload.image', () => reader.readText('workload.image', JOB_PROTOCOL_LIMITS.imageBytesMax));
  const argCount = reader.readArrayHeader('workload.command');
  if (argCount > JOB_PROTOCOL_LIMITS.commandArgsMax) reader.fail('invalid', 'workload.command', `has ${argCount} arguments, more than ${JOB_PROTOCOL_LIMITS.commandArgsMax}`);
  const command: string[] = [];
  for (let i = 0; i < argCount; i++) command.push(reader.readText(`workload.command[${i}]`, JOB_PROTOCOL_LIMITS.commandBytesMax));
  const envCount = reader.readArrayHeader('workload.env');
  if (envCount > JOB_PROTOCOL_LIMITS.envEntriesMax) reader.fail('invalid', 'workload.env', `has ${envCount} entries, more than ${JOB_PROTOCOL_LIMITS.envEntriesMax}`);
  const env: Record<string, string> = {};
  let previous = '';
  for (let i = 0; i < envCount; i++) {
    readItems(reader, `workload.env[${i}]`, 2);
    const name = reader.readText(`workload.env[${i}].name`, 128);
    const value = reader.readText(`workload.env[${i}].value`, JOB_PROTOCOL_LIMITS.envBytesMax);
    // Canonical: names strictly ascending, so a map has one byte form and no duplicates.
    if (i > 0 && !(name > previous)) reader.fail('invalid', `workload.env[${i}].name`, `${JSON.stringify(name)} does not come after ${JSON.stringify(previous)}`);
    previous = name;
    Object.defineProperty(env, name, { value, enumerable: true, writable: false, configurable: false });
  }
  return {
    runtime, image, command, env,
    cpuMillicores: reader.readUint('workload.cpuMillicores'),
    memoryBytes: reader.readUint('workload.memoryBytes'),
    diskBytes: reader.readUint('workload.diskBytes'),
    gpus: reader.readUint('workload.gpus'),
    executionMs: reader.readUint('workload.executionMs'),
    timeoutMs: reader.readUint('workload.timeoutMs'),
  };
}

function readInput(reader: CborReader): AssignmentInput {
  readItems(reader, 'input', 2);
  const kind = reader.readUint('input.kind', 1);
  if (kind === 0) return { kind: 'inline', bytes: reader.readBytes('input.bytes', JOB_PROTOCOL_LIMITS.inlineInputBytesMax) };
  const count = reader.readArrayHeader('input.parts');
  if (count > JOB_PROTOCOL_LIMITS.inputPartsMax) reader.fail('invalid', 'input.parts', `has ${count} parts, more than ${JOB_PROTOCOL_LIMITS.inputPartsMax}`);
  const parts: InputPartRef[] = [];
  for (let i = 0; i < count; i++) {
    readItems(reader, `input.parts[${i}]`, 3);
    parts.push({
      inputId: reader.readText(`input.parts[${i}].inputId`, ID_BYTES_MAX),
      sizeBytes: reader.readUint(`input.parts[${i}].sizeBytes`),
      sha256: reader.readBytes(`input.parts[${i}].sha256`, SHA256_BYTES),
    });
  }
  return { kind: 'parts', parts };
}

function readSignedJobAssignment(reader: CborReader): SignedJobAssignment {
  readItems(reader, 'assignment', 17);
  readVersion(reader);
  const chainId = reader.readText('chainId', 64);
  const assignmentId = reader.readText('assignmentId', ID_BYTES_MAX);
  const jobId = reader.readText('jobId', ID_BYTES_MAX);
  const ledgerJobId = reader.readText('ledgerJobId', ID_BYTES_MAX);
  const nodeId = reader.readText('nodeId', ID_BYTES_MAX);
  const workload = readWorkload(reader);
  const input = readInput(reader);
  readItems(reader, 'result', 3);
  const stationCount = reader.readArrayHeader('result.stations');
  if (stationCount > JOB_PROTOCOL_LIMITS.stationsMax) reader.fail('invalid', 'result.stations', `has ${stationCount} stations, more than ${JOB_PROTOCOL_LIMITS.stationsMax}`);
  const stations: string[] = [];
  for (let i = 0; i < stationCount; i++) stations.push(reader.readText(`result.stations[${i}]`, JOB_PROTOCOL_LIMITS.eidBytesMax));
  const result: ResultDestination = {
    stations,
    tenantEndpoint: reader.readText('result.tenantEndpoint', JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax),
    resultBytesMax: reader.readUint('result.resultBytesMax'),
  };
  const assignment: JobAssignment = {
    chainId, assignmentId, jobId, ledgerJobId, nodeId, workload, input, result,
    reportTo: reader.readText('reportTo', JOB_PROTOCOL_LIMITS.eidBytesMax),
    deadlineMs: reader.readUint('deadlineMs'),
    escrowId: readOptional(reader, 'escrowId', () => reader.readText('escrowId', ID_BYTES_MAX)),
    priceMinor: reader.readBigUint('priceMinor'),
    currency: reader.readText('currency', 8),
    issuedAtMs: reader.readUint('issuedAtMs'),
    notAfterMs: reader.readUint('notAfterMs'),
  };
  const signature = readSignature(reader);
  validateJobAssignment(assignment);
  return { assignment, signature };
}

/** Strict decoding of an assignment bundle's payload (codes in the header). */
export function decodeJobAssignment(bytes: Uint8Array): SignedJobAssignment {
  return decodeCanonical(bytes, ASSIGNMENT_FORMAT, readSignedJobAssignment, encodeJobAssignment);
}

export type AssignmentRejection = 'wrong-chain' | 'wrong-node' | 'invalid-validity-window' | 'not-yet-valid' | 'expired' | 'bad-signature';

export type AssignmentVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: AssignmentRejection; readonly detail: string };

export interface AssignmentCheckContext {
  readonly chainId: string;
  /** The node checking it: an assignment for another node is refused. */
  readonly nodeId: string;
  /** The scheduler's ed25519 public key (32 bytes). */
  readonly schedulerPublicKey: Uint8Array;
  readonly nowMs: number;
  /** issuedAtMs may be after `nowMs` by at most this much (clock error between scheduler and node). */
  readonly clockSkewMsMax: number;
}

/**
 * Judges a decoded assignment at `nowMs`, in this order: wrong-chain, wrong-node,
 * invalid-validity-window (notAfterMs ≤ issuedAtMs), not-yet-valid (issued after now + skew),
 * expired (now > notAfterMs), bad-signature (ZIP 215; also what an assignment signed under
 * another domain tag or by another key gets).
 */
export function verifyJobAssignment(signed: SignedJobAssignment, context: AssignmentCheckContext): AssignmentVerdict {
  const a = signed.assignment;
  const reject = (reason: AssignmentRejection, detail: string): AssignmentVerdict => ({ ok: false, reason, detail });
  if (a.chainId !== context.chainId) return reject('wrong-chain', `assignment is for chain ${JSON.stringify(a.chainId)}, this node is on ${JSON.stringify(context.chainId)}`);
  if (a.nodeId !== context.nodeId) return reject('wrong-node', `assignment is for node ${a.nodeId}, this is ${context.nodeId}`);
  if (a.notAfterMs <= a.issuedAtMs) return reject('invalid-validity-window', `notAfterMs ${a.notAfterMs} is not after issuedAtMs ${a.issuedAtMs}`);
  if (a.issuedAtMs > context.nowMs + context.clockSkewMsMax) {
    return reject('not-yet-valid', `issued ${a.issuedAtMs - context.nowMs} ms in the future, more than the ${context.clockSkewMsMax} ms clock skew allowed`);
  }
  if (context.nowMs > a.notAfterMs) return reject('expired', `arrived ${context.nowMs - a.notAfterMs} ms after its notAfterMs`);
  if (!ed25519Verify(context.schedulerPublicKey, jobAssignmentSigningBytes(a), signed.signature)) {
    return reject('bad-signature', "the signature does not verify under the scheduler's key");
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Node reports

const reportCheck: Checker = new Checker(REPORT_CODES.invalid);

export function validateNodeReport(r: NodeReport): void {
  const c = reportCheck;
  c.chainId(r.chainId);
  c.id(r.nodeId, 'nodeId');
  c.count(r.sequence, Number.MAX_SAFE_INTEGER, 'sequence');
  if (!REPORT_KINDS.includes(r.kind)) c.fail('kind', `${JSON.stringify(r.kind)} is not one of ${REPORT_KINDS.join(', ')}`);
  const unreadable = r.kind === 'refused';
  c.id(r.jobId, 'jobId', unreadable);
  c.id(r.assignmentId, 'assignmentId', unreadable);
  c.count(r.atMs, TIME_MS_MAX, 'atMs');
  c.text(r.reasonCode, JOB_PROTOCOL_LIMITS.reasonCodeBytesMax, 'reasonCode');
  if (r.reasonCode !== '' && !REASON_CODE.test(r.reasonCode)) c.fail('reasonCode', `${JSON.stringify(r.reasonCode)} is not lower-case words joined by "-"`);
  if (r.kind === 'refused' && r.reasonCode === '') c.fail('reasonCode', 'a refusal says why');
  c.text(r.reason, JOB_PROTOCOL_LIMITS.reasonBytesMax, 'reason');
  if ((r.kind === 'finished') !== (r.finished !== undefined)) c.fail('finished', 'is present exactly in a finished report');
  const f = r.finished;
  if (f !== undefined) {
    if (!JOB_OUTCOMES.includes(f.outcome)) c.fail('finished.outcome', `${JSON.stringify(f.outcome)} is not one of ${JOB_OUTCOMES.join(', ')}`);
    if (f.exitCode !== undefined) c.count(f.exitCode, 255, 'finished.exitCode');
    c.count(f.usage.cpuMs, Number.MAX_SAFE_INTEGER, 'finished.usage.cpuMs');
    if (f.usage.memoryPeakBytes !== undefined) c.count(f.usage.memoryPeakBytes, Number.MAX_SAFE_INTEGER, 'finished.usage.memoryPeakBytes');
    c.count(f.usage.wallMs, Number.MAX_SAFE_INTEGER, 'finished.usage.wallMs');
    c.count(f.resultSizeBytes, JOB_PROTOCOL_LIMITS.resultBytesMax, 'finished.resultSizeBytes');
    c.digest(f.resultSha256, 'finished.resultSha256');
    if (typeof f.resultSent !== 'boolean') c.fail('finished.resultSent', 'must be a boolean');
  }
}

function finishedArray(f: FinishedDetail): CborValue[] {
  return [f.outcome, optional(f.exitCode, (e) => e), [f.usage.cpuMs, optional(f.usage.memoryPeakBytes, (m) => m), f.usage.wallMs], f.resultSizeBytes, f.resultSha256, f.resultSent];
}

function reportBody(r: NodeReport): CborValue[] {
  return [r.nodeId, r.sequence, r.kind, r.jobId, r.assignmentId, r.atMs, r.reasonCode, r.reason, optional(r.finished, finishedArray)];
}

export function nodeReportSigningBytes(report: NodeReport): Uint8Array {
  validateNodeReport(report);
  return signingBytes(SIGNING_DOMAINS.nodeReport, report.chainId, [JOB_PROTOCOL_VERSION, ...reportBody(report)]);
}

/** Signs with the node's key. */
export function signNodeReport(report: NodeReport, key: Uint8Array | Ed25519Signer): SignedNodeReport {
  return { report, signature: sign(nodeReportSigningBytes(report), key) };
}

export function encodeNodeReport(signed: SignedNodeReport): Uint8Array {
  validateNodeReport(signed.report);
  reportCheck.signature(signed.signature);
  return encodeCbor([JOB_PROTOCOL_VERSION, signed.report.chainId, ...reportBody(signed.report), signed.signature]);
}

const REPORT_FORMAT = formatOf('node report', JOB_PROTOCOL_LIMITS.reportBytesMax, REPORT_CODES);

function readFinished(reader: CborReader): FinishedDetail {
  readItems(reader, 'finished', 6);
  const outcome = readChoice(reader, 'finished.outcome', JOB_OUTCOMES);
  const exitCode = readOptional(reader, 'finished.exitCode', () => reader.readUint('finished.exitCode', 255));
  readItems(reader, 'finished.usage', 3);
  const usage: JobRunUsage = {
    cpuMs: reader.readUint('finished.usage.cpuMs'),
    memoryPeakBytes: readOptional(reader, 'finished.usage.memoryPeakBytes', () => reader.readUint('finished.usage.memoryPeakBytes')),
    wallMs: reader.readUint('finished.usage.wallMs'),
  };
  return {
    outcome, exitCode, usage,
    resultSizeBytes: reader.readUint('finished.resultSizeBytes'),
    resultSha256: reader.readBytes('finished.resultSha256', SHA256_BYTES),
    resultSent: reader.readBool('finished.resultSent'),
  };
}

function readSignedNodeReport(reader: CborReader): SignedNodeReport {
  readItems(reader, 'report', 12);
  readVersion(reader);
  const report: NodeReport = {
    chainId: reader.readText('chainId', 64),
    nodeId: reader.readText('nodeId', ID_BYTES_MAX),
    sequence: reader.readUint('sequence'),
    kind: readChoice(reader, 'kind', REPORT_KINDS),
    jobId: reader.readText('jobId', ID_BYTES_MAX),
    assignmentId: reader.readText('assignmentId', ID_BYTES_MAX),
    atMs: reader.readUint('atMs'),
    reasonCode: reader.readText('reasonCode', JOB_PROTOCOL_LIMITS.reasonCodeBytesMax),
    reason: reader.readText('reason', JOB_PROTOCOL_LIMITS.reasonBytesMax),
    finished: readOptional(reader, 'finished', () => readFinished(reader)),
  };
  const signature = readSignature(reader);
  validateNodeReport(report);
  return { report, signature };
}

export function decodeNodeReport(bytes: Uint8Array): SignedNodeReport {
  return decodeCanonical(bytes, REPORT_FORMAT, readSignedNodeReport, encodeNodeReport);
}

/** Whether the report was signed (ZIP 215, under the node-report domain tag and its chain id) by the node's key. */
export function verifyNodeReport(signed: SignedNodeReport, nodePublicKey: Uint8Array): boolean {
  return ed25519Verify(nodePublicKey, nodeReportSigningBytes(signed.report), signed.signature);
}

/**
 * Reason text cut to what a report carries (JOB_PROTOCOL_LIMITS.reasonBytesMax bytes, on a
 * character boundary), with NUL characters replaced: for messages built from runtime output.
 */
export function reportReasonText(text: string): string {
  const clean = text.replaceAll('\0', '?');
  if (Buffer.byteLength(clean) <= JOB_PROTOCOL_LIMITS.reasonBytesMax) return clean;
  let cut = clean.slice(0, JOB_PROTOCOL_LIMITS.reasonBytesMax - 3);
  while (Buffer.byteLength(cut) > JOB_PROTOCOL_LIMITS.reasonBytesMax - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

// ---------------------------------------------------------------------------------------------
// Job results

const resultCheck: Checker = new Checker(RESULT_CODES.invalid);

export function validateJobResult(r: JobResultPayload): void {
  const c = resultCheck;
  c.chainId(r.chainId);
  c.id(r.nodeId, 'nodeId');
  c.id(r.jobId, 'jobId');
  c.id(r.assignmentId, 'assignmentId');
  if (!JOB_OUTCOMES.includes(r.outcome)) c.fail('outcome', `${JSON.stringify(r.outcome)} is not one of ${JOB_OUTCOMES.join(', ')}`);
  c.text(r.tenantEndpoint, JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax, 'tenantEndpoint');
  c.count(r.atMs, TIME_MS_MAX, 'atMs');
  c.bytes(r.bytes, JOB_PROTOCOL_LIMITS.resultBytesMax, 'bytes');
}

function resultHead(r: JobResultPayload): CborValue[] {
  return [r.nodeId, r.jobId, r.assignmentId, r.outcome, r.tenantEndpoint, r.atMs];
}

export function jobResultSigningBytes(result: JobResultPayload): Uint8Array {
  validateJobResult(result);
  return signingBytes(SIGNING_DOMAINS.jobResult, result.chainId, [JOB_PROTOCOL_VERSION, ...resultHead(result), [result.bytes.length, sha256(result.bytes)]]);
}

export function signJobResult(result: JobResultPayload, key: Uint8Array | Ed25519Signer): SignedJobResult {
  return { result, signature: sign(jobResultSigningBytes(result), key) };
}

export function encodeJobResult(signed: SignedJobResult): Uint8Array {
  validateJobResult(signed.result);
  resultCheck.signature(signed.signature);
  return encodeCbor([JOB_PROTOCOL_VERSION, signed.result.chainId, ...resultHead(signed.result), signed.result.bytes, signed.signature]);
}

/** Bytes a result payload adds to its result bytes, at most: what a node reserves beside a result in its store. */
export const JOB_RESULT_OVERHEAD_BYTES_MAX = 1024 + JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax;
const RESULT_FORMAT = formatOf('job result', JOB_PROTOCOL_LIMITS.resultBytesMax + JOB_RESULT_OVERHEAD_BYTES_MAX, RESULT_CODES);

function readSignedJobResult(reader: CborReader): SignedJobResult {
  readItems(reader, 'result', 10);
  readVersion(reader);
  const result: JobResultPayload = {
    chainId: reader.readText('chainId', 64),
    nodeId: reader.readText('nodeId', ID_BYTES_MAX),
    jobId: reader.readText('jobId', ID_BYTES_MAX),
    assignmentId: reader.readText('assignmentId', ID_BYTES_MAX),
    outcome: readChoice(reader, 'outcome', JOB_OUTCOMES),
    tenantEndpoint: reader.readText('tenantEndpoint', JOB_PROTOCOL_LIMITS.tenantEndpointBytesMax),
    atMs: reader.readUint('atMs'),
    bytes: reader.readBytes('bytes', JOB_PROTOCOL_LIMITS.resultBytesMax),
  };
  const signature = readSignature(reader);
  validateJobResult(result);
  return { result, signature };
}

export function decodeJobResult(bytes: Uint8Array): SignedJobResult {
  return decodeCanonical(bytes, RESULT_FORMAT, readSignedJobResult, encodeJobResult);
}

export function verifyJobResult(signed: SignedJobResult, nodePublicKey: Uint8Array): boolean {
  return ed25519Verify(nodePublicKey, jobResultSigningBytes(signed.result), signed.signature);
}

// ---------------------------------------------------------------------------------------------
// Contact plan updates

const planCheck: Checker = new Checker(PLAN_CODES.invalid);
const utf8 = new TextEncoder();

export function validateContactPlanUpdate(u: ContactPlanUpdate): void {
  planCheck.chainId(u.chainId);
  planCheck.count(u.issuedAtMs, TIME_MS_MAX, 'issuedAtMs');
  if (u.planEpochMs !== undefined) planCheck.count(u.planEpochMs, TIME_MS_MAX, 'planEpochMs');
  planCheck.text(u.planText, JOB_PROTOCOL_LIMITS.planTextBytesMax, 'planText');
}

export function contactPlanUpdateSigningBytes(u: ContactPlanUpdate): Uint8Array {
  validateContactPlanUpdate(u);
  const text = utf8.encode(u.planText);
  return signingBytes(SIGNING_DOMAINS.contactPlanUpdate, u.chainId, [JOB_PROTOCOL_VERSION, u.issuedAtMs, optional(u.planEpochMs, (e) => e), [text.length, sha256(text)]]);
}

export function signContactPlanUpdate(update: ContactPlanUpdate, key: Uint8Array | Ed25519Signer): SignedContactPlanUpdate {
  return { update, signature: sign(contactPlanUpdateSigningBytes(update), key) };
}

export function encodeContactPlanUpdate(signed: SignedContactPlanUpdate): Uint8Array {
  const u = signed.update;
  validateContactPlanUpdate(u);
  planCheck.signature(signed.signature);
  return encodeCbor([JOB_PROTOCOL_VERSION, u.chainId, u.issuedAtMs, optional(u.planEpochMs, (e) => e), u.planText, signed.signature]);
}

const PLAN_FORMAT = formatOf('contact plan update', JOB_PROTOCOL_LIMITS.planTextBytesMax + 256, PLAN_CODES);

function readSignedContactPlanUpdate(reader: CborReader): SignedContactPlanUpdate {
  readItems(reader, 'plan update', 6);
  readVersion(reader);
  const update: ContactPlanUpdate = {
    chainId: reader.readText('chainId', 64),
    issuedAtMs: reader.readUint('issuedAtMs'),
    planEpochMs: readOptional(reader, 'planEpochMs', () => reader.readUint('planEpochMs')),
    planText: reader.readText('planText', JOB_PROTOCOL_LIMITS.planTextBytesMax),
  };
  const signature = readSignature(reader);
  validateContactPlanUpdate(update);
  return { update, signature };
}

export function decodeContactPlanUpdate(bytes: Uint8Array): SignedContactPlanUpdate {
  return decodeCanonical(bytes, PLAN_FORMAT, readSignedContactPlanUpdate, encodeContactPlanUpdate);
}

export function verifyContactPlanUpdate(signed: SignedContactPlanUpdate, chainId: string, schedulerPublicKey: Uint8Array): boolean {
  return signed.update.chainId === chainId && ed25519Verify(schedulerPublicKey, contactPlanUpdateSigningBytes(signed.update), signed.signature);
}

// ---------------------------------------------------------------------------------------------
// Input parts

const inputCheck: Checker = new Checker(INPUT_CODES.invalid);

export function encodeJobInputPart(part: JobInputPart): Uint8Array {
  inputCheck.id(part.inputId, 'inputId');
  inputCheck.bytes(part.bytes, JOB_PROTOCOL_LIMITS.inputPartBytesMax, 'bytes');
  return encodeCbor([JOB_PROTOCOL_VERSION, part.inputId, part.bytes]);
}

const INPUT_FORMAT = formatOf('job input part', JOB_PROTOCOL_LIMITS.inputPartBytesMax + 128, INPUT_CODES);

export function decodeJobInputPart(bytes: Uint8Array): JobInputPart {
  return decodeCanonical(bytes, INPUT_FORMAT, (reader) => {
    readItems(reader, 'input part', 3);
    readVersion(reader);
    const inputId = reader.readText('inputId', ID_BYTES_MAX);
    inputCheck.id(inputId, 'inputId');
    return { inputId, bytes: reader.readBytes('bytes', JOB_PROTOCOL_LIMITS.inputPartBytesMax) };
  }, encodeJobInputPart);
}

/** Whether an input part is the one an assignment names: same id, size and SHA-256. */
export function inputPartMatches(part: JobInputPart, ref: InputPartRef): boolean {
  return part.inputId === ref.inputId && part.bytes.length === ref.sizeBytes && bytesEqual(sha256(part.bytes), ref.sha256);
}

// ---------------------------------------------------------------------------------------------
// Telemetry

const telemetryCheck: Checker = new Checker(TELEMETRY_CODES.invalid);

export function encodeTelemetryPayload(payload: TelemetryPayload): Uint8Array {
  telemetryCheck.id(payload.nodeId, 'nodeId');
  telemetryCheck.count(payload.atMs, TIME_MS_MAX, 'atMs');
  const bytes = utf8.encode(JSON.stringify({ nodeId: payload.nodeId, atMs: payload.atMs, housekeeping: payload.housekeeping }));
  if (bytes.length > JOB_PROTOCOL_LIMITS.telemetryBytesMax) telemetryCheck.fail('housekeeping', `telemetry is ${bytes.length} bytes, more than ${JOB_PROTOCOL_LIMITS.telemetryBytesMax}`);
  return bytes;
}

/** Parses a telemetry payload: size first, then strict UTF-8 and JSON, then the shape. */
export function decodeTelemetryPayload(bytes: Uint8Array): TelemetryPayload {
  if (bytes.length > JOB_PROTOCOL_LIMITS.telemetryBytesMax) {
    throw new OrbitfedError(TELEMETRY_CODES.tooLarge, `telemetry of ${bytes.length} bytes is larger than the ${JOB_PROTOCOL_LIMITS.telemetryBytesMax} accepted`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new OrbitfedError(TELEMETRY_CODES.malformed, `telemetry is not UTF-8 JSON: ${(error as Error).message}`);
  }
  const record = value as Partial<TelemetryPayload> | null;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) telemetryCheck.fail('telemetry', 'must be a JSON object');
  telemetryCheck.id(record.nodeId as string, 'nodeId');
  telemetryCheck.count(record.atMs as number, TIME_MS_MAX, 'atMs');
  const housekeeping = record.housekeeping;
  if (typeof housekeeping !== 'object' || housekeeping === null || Array.isArray(housekeeping)) telemetryCheck.fail('housekeeping', 'must be a JSON object');
  return { nodeId: record.nodeId!, atMs: record.atMs!, housekeeping };
}

// Administrative records (RFC 9171 §6.1): the payload of a bundle whose "ADU is an administrative
// record" flag is set, a CBOR array [record type, content]. Type 1, the bundle status report
// (§6.1.1), is read and written field by field:
//   [[received, forwarded, delivered, deleted], reason code, subject source, subject creation
//    timestamp, (subject fragment offset, subject payload length)]
// where each status item is [asserted] or [true, DTN time] (the time only when asserted and the
// subject bundle asked for status times). Records of other types are kept as their content's CBOR.
// Errors:
//   ORBITFED_ADMIN_RECORD_TOO_LARGE   payload longer than the limit (checked before parsing)
//   ORBITFED_ADMIN_RECORD_TRUNCATED   the payload ends inside the record
//   ORBITFED_ADMIN_RECORD_CBOR        not well-formed, or outside the strict CBOR subset
//   ORBITFED_ADMIN_RECORD_FIELD       a field of the wrong type or count, or bytes after the record
//   ORBITFED_ADMIN_RECORD_FLAG        `adminRecordOf` on a bundle that is not an (unfragmented) admin record
import { OrbitfedError } from '../common/index.ts';
import { makeBundle, NO_BUNDLE_FLAGS, type Bundle, type CreationTimestamp, type NewBundle } from './bundle.ts';
import { CborReader, encodeCbor, type CborErrorCodes, type CborValue } from './cbor.ts';
import { dtnTimeMs, type DtnTimeMs } from './dtn-time.ts';
import { eidToCbor, readEid, type Eid } from './eid.ts';

export const ADMIN_RECORD_TYPE_STATUS_REPORT = 1;
/** Admin records are small; a payload above this is refused unread. */
export const ADMIN_RECORD_BYTES_MAX = 64 * 1024;

/** Bundle status report reason codes (§6.1.1 Table 1); the list is "neither exhaustive nor exclusive". */
export const STATUS_REPORT_REASON = {
  noAdditionalInformation: 0,
  lifetimeExpired: 1,
  forwardedOverUnidirectionalLink: 2,
  transmissionCanceled: 3,
  depletedStorage: 4,
  destinationEndpointIdUnavailable: 5,
  noKnownRouteToDestination: 6,
  noTimelyContactWithNextNode: 7,
  blockUnintelligible: 8,
  hopLimitExceeded: 9,
  trafficPared: 10,
  blockUnsupported: 11,
} as const;

export interface StatusAssertion {
  readonly asserted: boolean;
  /** When the status was asserted; only for asserted statuses of bundles that requested status times. */
  readonly atDtnTimeMs?: DtnTimeMs;
}

const NOT_ASSERTED: StatusAssertion = { asserted: false };

export interface BundleStatusReport {
  readonly kind: 'status-report';
  readonly received: StatusAssertion;
  readonly forwarded: StatusAssertion;
  readonly delivered: StatusAssertion;
  readonly deleted: StatusAssertion;
  /** One of STATUS_REPORT_REASON, or a code registered later. */
  readonly reasonCode: number;
  readonly subjectSource: Eid;
  readonly subjectCreation: CreationTimestamp;
  /** Present exactly when the subject bundle is a fragment. */
  readonly subjectFragment?: { readonly offsetBytes: number; readonly payloadLengthBytes: number };
}

/** A record of a type other than 1, with its content as the CBOR bytes of one item. */
export interface OtherAdminRecord {
  readonly kind: 'other';
  readonly recordType: number;
  readonly contentCbor: Uint8Array;
}

export type AdminRecord = BundleStatusReport | OtherAdminRecord;

const CODES: CborErrorCodes = { truncated: 'ORBITFED_ADMIN_RECORD_TRUNCATED', malformed: 'ORBITFED_ADMIN_RECORD_CBOR', invalid: 'ORBITFED_ADMIN_RECORD_FIELD' };
const STATUS_NAMES = ['received', 'forwarded', 'delivered', 'deleted'] as const;

function statusItem(assertion: StatusAssertion): CborValue {
  if (assertion.atDtnTimeMs === undefined) return [assertion.asserted];
  if (!assertion.asserted) throw new OrbitfedError('ORBITFED_ADMIN_RECORD_FIELD', 'a status that is not asserted carries no time (RFC 9171 §6.1.1)', { field: 'status report' });
  return [true, assertion.atDtnTimeMs];
}

export function encodeAdminRecord(record: AdminRecord): Uint8Array {
  if (record.kind === 'other') {
    // [type, content]: a 2-item array head, the type, then the content's own CBOR unchanged.
    const check = new CborReader(record.contentCbor, CODES);
    check.skipItem('administrative record: content');
    if (!check.atEnd) check.fail('invalid', 'administrative record: content', 'content must be exactly one CBOR item');
    const type = encodeCbor(record.recordType);
    const out = new Uint8Array(1 + type.length + record.contentCbor.length);
    out[0] = 0x82;
    out.set(type, 1);
    out.set(record.contentCbor, 1 + type.length);
    return out;
  }
  const content: CborValue[] = [
    STATUS_NAMES.map((name) => statusItem(record[name])),
    record.reasonCode,
    eidToCbor(record.subjectSource),
    [record.subjectCreation.dtnTimeMs, record.subjectCreation.sequence],
  ];
  if (record.subjectFragment !== undefined) content.push(record.subjectFragment.offsetBytes, record.subjectFragment.payloadLengthBytes);
  return encodeCbor([ADMIN_RECORD_TYPE_STATUS_REPORT, content]);
}

function readStatusItem(reader: CborReader, field: string): StatusAssertion {
  const items = reader.readArrayHeader(field);
  if (items !== 1 && items !== 2) reader.fail('invalid', field, `a status item is [asserted] or [true, time], found ${items} items`);
  const asserted = reader.readBool(`${field}: status indicator`);
  if (items === 1) return asserted ? { asserted } : NOT_ASSERTED;
  if (!asserted) reader.fail('invalid', field, 'a status that is not asserted carries no time (RFC 9171 §6.1.1)');
  return { asserted, atDtnTimeMs: dtnTimeMs(reader.readUint(`${field}: time`)) };
}

function readStatusReport(reader: CborReader): BundleStatusReport {
  const field = 'status report';
  const items = reader.readArrayHeader(field);
  if (items !== 4 && items !== 6) reader.fail('invalid', field, `has ${items} items; RFC 9171 §6.1.1 allows 4, or 6 for a fragment`);
  const infoItems = reader.readArrayHeader(`${field}: status information`);
  if (infoItems < 4) reader.fail('invalid', `${field}: status information`, `has ${infoItems} items, at least 4 are required`);
  const [received, forwarded, delivered, deleted] = STATUS_NAMES.map((name) => readStatusItem(reader, `${field}: ${name}`)) as [StatusAssertion, StatusAssertion, StatusAssertion, StatusAssertion];
  // Status items after the first four belong to later specifications; they are read and dropped.
  for (let i = 4; i < infoItems; i++) reader.skipItem(`${field}: status item ${i}`);
  const reasonCode = reader.readUint(`${field}: reason code`);
  const subjectSource = readEid(reader, `${field}: subject source node ID`);
  const timestampItems = reader.readArrayHeader(`${field}: subject creation timestamp`);
  if (timestampItems !== 2) reader.fail('invalid', `${field}: subject creation timestamp`, `is [DTN time, sequence number], found ${timestampItems} items`);
  const subjectCreation = { dtnTimeMs: dtnTimeMs(reader.readUint(`${field}: subject creation time`)), sequence: reader.readBigUint(`${field}: subject sequence number`) };
  const report: BundleStatusReport = { kind: 'status-report', received, forwarded, delivered, deleted, reasonCode, subjectSource, subjectCreation };
  if (items === 4) return report;
  const offsetBytes = reader.readUint(`${field}: subject fragment offset`);
  const payloadLengthBytes = reader.readUint(`${field}: subject payload length`);
  return { ...report, subjectFragment: { offsetBytes, payloadLengthBytes } };
}

/** Reads an administrative record from a payload: one CBOR item [type, content], nothing after it. */
export function decodeAdminRecord(payload: Uint8Array, maxBytes = ADMIN_RECORD_BYTES_MAX): AdminRecord {
  if (payload.length > maxBytes) {
    throw new OrbitfedError('ORBITFED_ADMIN_RECORD_TOO_LARGE', `${payload.length} bytes is more than the ${maxBytes} accepted`, { field: 'administrative record' });
  }
  const reader = new CborReader(payload, CODES);
  const items = reader.readArrayHeader('administrative record');
  if (items !== 2) reader.fail('invalid', 'administrative record', `is [record type, content] (RFC 9171 §6.1), found ${items} items`);
  const recordType = reader.readUint('administrative record: record type');
  let record: AdminRecord;
  if (recordType === ADMIN_RECORD_TYPE_STATUS_REPORT) {
    record = readStatusReport(reader);
  } else {
    const start = reader.offset;
    reader.skipItem('administrative record: content');
    record = { kind: 'other', recordType, contentCbor: reader.copy(start, reader.offset) };
  }
  if (!reader.atEnd) reader.fail('invalid', 'administrative record', `${payload.length - reader.offset} bytes follow the record`);
  return record;
}

/** The administrative record a bundle carries; refuses bundles without the flag, and fragments. */
export function adminRecordOf(bundle: Bundle): AdminRecord {
  if (!bundle.primary.flags.isAdminRecord) {
    throw new OrbitfedError('ORBITFED_ADMIN_RECORD_FLAG', 'the bundle\'s "ADU is an administrative record" flag is not set', { field: 'primary block: flags' });
  }
  if (bundle.primary.fragment !== undefined) {
    throw new OrbitfedError('ORBITFED_ADMIN_RECORD_FLAG', 'the bundle is a fragment: reassemble it before reading its administrative record', { field: 'primary block: flags' });
  }
  return decodeAdminRecord(bundle.payload.data);
}

/** When each status was asserted; statuses left out are not asserted. */
export interface StatusTimes {
  readonly received?: DtnTimeMs;
  readonly forwarded?: DtnTimeMs;
  readonly delivered?: DtnTimeMs;
  readonly deleted?: DtnTimeMs;
}

/**
 * A status report about `subject`. Times are included only if the subject asked for them (§6.1.1);
 * a fragment's offset and payload length are included because §6.2 step 1 requires them.
 */
export function statusReportAbout(subject: Bundle, times: StatusTimes, reasonCode: number): BundleStatusReport {
  const withTime = subject.primary.flags.statusTimeRequested;
  const assertion = (at: DtnTimeMs | undefined): StatusAssertion =>
    at === undefined ? NOT_ASSERTED : withTime ? { asserted: true, atDtnTimeMs: at } : { asserted: true };
  const report: BundleStatusReport = {
    kind: 'status-report',
    received: assertion(times.received),
    forwarded: assertion(times.forwarded),
    delivered: assertion(times.delivered),
    deleted: assertion(times.deleted),
    reasonCode,
    subjectSource: subject.primary.source,
    subjectCreation: subject.primary.creation,
  };
  const fragment = subject.primary.fragment;
  return fragment === undefined ? report : { ...report, subjectFragment: { offsetBytes: fragment.offsetBytes, payloadLengthBytes: subject.payload.data.length } };
}

/** A bundle carrying an administrative record: the admin-record flag set, no status reports requested. */
export function adminRecordBundle(record: AdminRecord, envelope: Omit<NewBundle, 'payload' | 'flags'>): Bundle {
  return makeBundle({ ...envelope, flags: { ...NO_BUNDLE_FLAGS, isAdminRecord: true }, payload: encodeAdminRecord(record) });
}

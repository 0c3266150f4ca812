// Endpoint IDs (RFC 9171 §4.2.5.1): the null endpoint `dtn:none`, `dtn://node-name/demux`
// (§4.2.5.1.1) and `ipn:node.service` (§4.2.5.1.2), in text and in their CBOR form
// `[scheme code, SSP]`: `[1, 0]`, `[1, "//node-name/demux"]`, `[2, [node, service]]`.
//
// ipn node and service numbers are CBOR unsigned integers, so they range over 0 … 2^64-1; they are
// held as `bigint` always (not "number when small"), so equality is `===` and nothing rounds.
// Other URI schemes, and the three-number ipn form of RFC 9758, are refused with a precise error:
// a bundle we cannot name we cannot route.
import { OrbitfedError } from '../common/index.ts';
import { MAJOR_UNSIGNED, type CborReader, type CborValue } from './cbor.ts';

/** `dtn:none`, the endpoint with no members (§4.2.5.1.1). */
export interface NullEid {
  readonly kind: 'null';
}

/** `dtn://nodeName/demux`; a demux starting with `~` names a non-singleton endpoint. */
export interface DtnEid {
  readonly kind: 'dtn';
  readonly nodeName: string;
  readonly demux: string;
}

/** `ipn:nodeNumber.serviceNumber`; service 0 is the node's administrative endpoint. */
export interface IpnEid {
  readonly kind: 'ipn';
  readonly nodeNumber: bigint;
  readonly serviceNumber: bigint;
}

export type Eid = NullEid | DtnEid | IpnEid;

/** Bundle Protocol URI scheme codes (RFC 9171 §9.6). */
export const URI_SCHEME_DTN = 1;
export const URI_SCHEME_IPN = 2;
/** Longest EID accepted, in text and as the CBOR text of a dtn SSP: ample for any node name we issue. */
export const EID_TEXT_BYTES_MAX = 1024;
const UINT64_MAX = (1n << 64n) - 1n;
const DECIMAL_DIGITS_MAX = 20;

export const NULL_EID: NullEid = { kind: 'null' };

// RFC 3986 reg-name (unreserved / pct-encoded / sub-delims), non-empty; RFC 9171 demux = *VCHAR.
const NODE_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const DEMUX = /^[\x21-\x7e]*$/;
const DECIMAL = /^[0-9]+$/;

/** Why a hand-built EID is not valid, or `undefined` when it is. */
export function eidProblem(eid: Eid): string | undefined {
  switch (eid.kind) {
    case 'null':
      return undefined;
    case 'dtn':
      if (!NODE_NAME.test(eid.nodeName)) return `dtn node name '${eid.nodeName}' is not a non-empty RFC 3986 reg-name`;
      if (!DEMUX.test(eid.demux)) return `dtn demux '${eid.demux}' has characters other than printable US-ASCII`;
      if (`dtn://${eid.nodeName}/${eid.demux}`.length > EID_TEXT_BYTES_MAX) return `dtn EID is longer than ${EID_TEXT_BYTES_MAX} bytes`;
      return undefined;
    case 'ipn':
      for (const [name, value] of [['node', eid.nodeNumber], ['service', eid.serviceNumber]] as const) {
        if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) return `ipn ${name} number ${String(value)} is not an integer from 0 to 2^64-1`;
      }
      return undefined;
  }
}

function checked<T extends Eid>(eid: T): T {
  const problem = eidProblem(eid);
  if (problem !== undefined) throw new OrbitfedError('ORBITFED_EID_SYNTAX', problem);
  return eid;
}

/** An ipn EID; numbers may be given as safe integers for convenience and are held as bigints. */
export function ipnEid(nodeNumber: bigint | number, serviceNumber: bigint | number): IpnEid {
  const toBig = (n: bigint | number, name: string): bigint => {
    if (typeof n === 'bigint') return n;
    if (Number.isSafeInteger(n) && n >= 0) return BigInt(n);
    throw new OrbitfedError('ORBITFED_EID_SYNTAX', `ipn ${name} number ${n} is not a whole number from 0 to 2^53-1 (pass a bigint for larger ones)`);
  };
  return checked({ kind: 'ipn', nodeNumber: toBig(nodeNumber, 'node'), serviceNumber: toBig(serviceNumber, 'service') });
}

export function dtnEid(nodeName: string, demux: string): DtnEid {
  return checked({ kind: 'dtn', nodeName, demux });
}

/** RFC 9171 §4.2.5.1: every ipn EID and every dtn EID whose demux does not start with `~`. */
export function isSingletonEid(eid: Eid): boolean {
  return eid.kind === 'ipn' || (eid.kind === 'dtn' && !eid.demux.startsWith('~'));
}

export function eidEquals(a: Eid, b: Eid): boolean {
  if (a.kind === 'null' || b.kind === 'null') return a.kind === b.kind;
  if (a.kind === 'dtn' && b.kind === 'dtn') return a.nodeName === b.nodeName && a.demux === b.demux;
  if (a.kind === 'ipn' && b.kind === 'ipn') return a.nodeNumber === b.nodeNumber && a.serviceNumber === b.serviceNumber;
  return false;
}

export function formatEid(eid: Eid): string {
  switch (eid.kind) {
    case 'null':
      return 'dtn:none';
    case 'dtn':
      return `dtn://${eid.nodeName}/${eid.demux}`;
    case 'ipn':
      return `ipn:${eid.nodeNumber}.${eid.serviceNumber}`;
  }
}

/** The dtn scheme-specific part after `dtn:` (text form) or in CBOR: `//node-name/demux`. */
function dtnFromSsp(ssp: string): DtnEid | string {
  if (!ssp.startsWith('//')) return `dtn scheme-specific part '${ssp}' is neither 'none' nor '//node-name/demux'`;
  const slash = ssp.indexOf('/', 2);
  if (slash < 0) return `dtn EID '//${ssp.slice(2)}' has no '/' between node name and demux (RFC 9171 §4.2.5.1.1)`;
  const eid: DtnEid = { kind: 'dtn', nodeName: ssp.slice(2, slash), demux: ssp.slice(slash + 1) };
  return eidProblem(eid) ?? eid;
}

function decimalToUint64(text: string, name: string): bigint | string {
  if (!DECIMAL.test(text)) return `ipn ${name} number '${text}' is not a decimal number`;
  if (text.length > DECIMAL_DIGITS_MAX) return `ipn ${name} number '${text}' has more than ${DECIMAL_DIGITS_MAX} digits`;
  const value = BigInt(text);
  return value > UINT64_MAX ? `ipn ${name} number ${text} is above 2^64-1` : value;
}

/** Reads `dtn:none`, `dtn://node/demux` or `ipn:N.S`; errors carry code ORBITFED_EID_SYNTAX. */
export function parseEid(text: string): Eid {
  const fail = (message: string): never => {
    throw new OrbitfedError('ORBITFED_EID_SYNTAX', message, { field: 'endpoint ID' });
  };
  if (text.length > EID_TEXT_BYTES_MAX) fail(`'${text.slice(0, 40)}…' is longer than ${EID_TEXT_BYTES_MAX} characters`);
  if (text === 'dtn:none') return NULL_EID;
  if (text.startsWith('dtn:')) {
    const eid = dtnFromSsp(text.slice(4));
    return typeof eid === 'string' ? fail(eid) : eid;
  }
  if (text.startsWith('ipn:')) {
    const parts = text.slice(4).split('.');
    if (parts.length !== 2) return fail(`'${text}' is not ipn:<node>.<service> (RFC 9171 §4.2.5.1.2)`);
    const node = decimalToUint64(parts[0]!, 'node');
    const service = decimalToUint64(parts[1]!, 'service');
    if (typeof node === 'string') return fail(node);
    if (typeof service === 'string') return fail(service);
    return { kind: 'ipn', nodeNumber: node, serviceNumber: service };
  }
  return fail(`'${text.slice(0, 40)}' is not a dtn: or ipn: endpoint ID`);
}

/** The CBOR form, `[scheme code, SSP]` (RFC 9171 §4.2.5.1). */
export function eidToCbor(eid: Eid): CborValue {
  switch (eid.kind) {
    case 'null':
      return [URI_SCHEME_DTN, 0];
    case 'dtn':
      return [URI_SCHEME_DTN, `//${eid.nodeName}/${eid.demux}`];
    case 'ipn':
      return [URI_SCHEME_IPN, [eid.nodeNumber, eid.serviceNumber]];
  }
}

/** Reads one EID in CBOR form; errors are the reader's `invalid` code, naming `field`. */
export function readEid(reader: CborReader, field: string): Eid {
  const count = reader.readArrayHeader(field);
  if (count !== 2) reader.fail('invalid', field, `an endpoint ID is a 2-item array [scheme code, SSP], found ${count} items`);
  const scheme = reader.readUint(`${field}: URI scheme code`);
  if (scheme === URI_SCHEME_DTN) {
    if (reader.peekMajor(field) === MAJOR_UNSIGNED) {
      const ssp = reader.readUint(`${field}: dtn SSP`);
      if (ssp !== 0) reader.fail('invalid', field, `dtn SSP as an integer must be 0 (dtn:none), found ${ssp}`);
      return NULL_EID;
    }
    const eid = dtnFromSsp(reader.readText(`${field}: dtn SSP`, EID_TEXT_BYTES_MAX));
    return typeof eid === 'string' ? reader.fail('invalid', field, eid) : eid;
  }
  if (scheme === URI_SCHEME_IPN) {
    const items = reader.readArrayHeader(`${field}: ipn SSP`);
    if (items !== 2) reader.fail('invalid', field, `ipn SSP is [node, service] (RFC 9171 §4.2.5.1.2), found ${items} items`);
    const nodeNumber = reader.readBigUint(`${field}: ipn node number`);
    const serviceNumber = reader.readBigUint(`${field}: ipn service number`);
    return { kind: 'ipn', nodeNumber, serviceNumber };
  }
  return reader.fail('invalid', field, `URI scheme code ${scheme} is not supported (1 = dtn, 2 = ipn)`);
}

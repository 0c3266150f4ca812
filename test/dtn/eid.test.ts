// Endpoint IDs (RFC 9171 §4.2.5.1): text, CBOR, and the errors for each malformed form.
import { describe, expect, it } from 'vitest';
import { CborReader, encodeCbor } from '../../dtn/cbor.ts';
import { dtnEid, eidEquals, eidToCbor, formatEid, ipnEid, isSingletonEid, NULL_EID, parseEid, readEid, type Eid } from '../../dtn/eid.ts';
import { codeOf, fromHex, toHex } from './sample-bundles.ts';

const CODES = { truncated: 'T', malformed: 'M', invalid: 'I' };
const readHex = (hex: string): Eid => {
  const reader = new CborReader(fromHex(hex), CODES);
  const eid = readEid(reader, 'eid');
  expect(reader.atEnd).toBe(true);
  return eid;
};

describe('endpoint IDs in text', () => {
  it('reads and writes dtn:none, dtn://node/demux and ipn:N.S', () => {
    for (const text of ['dtn:none', 'dtn://ground-1.example/bundles', 'dtn://n/', 'dtn://n/~group', 'dtn://n/a/b?c', 'ipn:0.0', 'ipn:977.1']) {
      expect(formatEid(parseEid(text))).toBe(text);
    }
    expect(parseEid('dtn://ground-1/in')).toEqual({ kind: 'dtn', nodeName: 'ground-1', demux: 'in' });
    expect(parseEid('ipn:977.1')).toEqual({ kind: 'ipn', nodeNumber: 977n, serviceNumber: 1n });
  });

  it('holds ipn numbers up to 2^64-1 exactly, as bigints', () => {
    const eid = parseEid('ipn:18446744073709551615.18446744073709551614');
    expect(eid).toEqual({ kind: 'ipn', nodeNumber: 2n ** 64n - 1n, serviceNumber: 2n ** 64n - 2n });
    expect(formatEid(eid)).toBe('ipn:18446744073709551615.18446744073709551614');
    expect(eidEquals(ipnEid(5, 1), ipnEid(5n, 1n))).toBe(true);
  });

  it('refuses ipn numbers that are negative, fractional, unsafe as numbers or above 2^64-1', () => {
    for (const [node, service] of [[-1, 0], [1.5, 0], [2 ** 53, 0], [0, 2n ** 64n]] as const) {
      expect(codeOf(() => ipnEid(node, service)), `${node}.${service}`).toBe('ORBITFED_EID_SYNTAX');
    }
  });

  it('refuses malformed text with ORBITFED_EID_SYNTAX', () => {
    for (const text of [
      '', 'dtn:', 'dtn:nonex', 'dtn://', 'dtn://node', 'dtn:///demux', 'dtn://no de/x', 'dtn://n/has space', 'dtn://n/é',
      'ipn:1', 'ipn:1.2.3', 'ipn:.1', 'ipn:1.', 'ipn:-1.1', 'ipn:1.0x1', 'ipn:18446744073709551616.0', 'ipn:000000000000000000001.1',
      'DTN:none', 'http://x/y', `dtn://${'n'.repeat(2000)}/`,
    ]) {
      expect(codeOf(() => parseEid(text)), text).toBe('ORBITFED_EID_SYNTAX');
    }
  });

  it('names singleton endpoints: ipn always, dtn unless the demux starts with ~, never dtn:none', () => {
    expect(isSingletonEid(ipnEid(1, 0))).toBe(true);
    expect(isSingletonEid(dtnEid('n', 'svc'))).toBe(true);
    expect(isSingletonEid(dtnEid('n', '~all'))).toBe(false);
    expect(isSingletonEid(NULL_EID)).toBe(false);
  });
});

describe('endpoint IDs in CBOR', () => {
  it('encodes [1,0], [1,"//node/demux"] and [2,[node,service]] (RFC 9171 §4.2.5.1)', () => {
    expect(toHex(encodeCbor(eidToCbor(NULL_EID)))).toBe('820100');
    expect(toHex(encodeCbor(eidToCbor(dtnEid('n', 'x'))))).toBe('8201652f2f6e2f78');
    expect(toHex(encodeCbor(eidToCbor(ipnEid(2, 1))))).toBe('8202820201');
    expect(toHex(encodeCbor(eidToCbor(ipnEid(2n ** 64n - 1n, 2 ** 32))))).toBe('8202821bffffffffffffffff1b0000000100000000');
  });

  it('reads each form back', () => {
    expect(readHex('820100')).toEqual(NULL_EID);
    expect(readHex('8201652f2f6e2f78')).toEqual(dtnEid('n', 'x'));
    expect(readHex('8202821bffffffffffffffff00')).toEqual(ipnEid(2n ** 64n - 1n, 0));
  });

  it('refuses other schemes, other SSP shapes and the three-number ipn form', () => {
    for (const hex of ['820300', '820101', '8201646e6f6e65', '820162612f', '8202830102 03', '82028101', '83020102', '8202a0', '820140']) {
      expect(codeOf(() => readHex(hex)), hex).toBe('I');
    }
  });
});

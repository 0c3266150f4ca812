// SDNVs (RFC 6256) as TCPCLv3 uses them: the RFC's own examples, HDTN's boundary values
// (common/tcpcl/test/TestSdnv.cpp: 26 values around each length step take 76 bytes), and the
// bounds that let a reader refuse a huge value before the rest of it arrives.
import { describe, expect, it } from 'vitest';
import { encodeSdnv, readSdnv, SDNV_BYTES_MAX, sdnvByteLength } from '../../dtn/sdnv.ts';
import { fromHex, toHex } from './sample-bundles.ts';

describe('SDNV (RFC 6256 §2)', () => {
  it.each([
    [0x7f, '7f'],
    [0xabc, '953c'],
    [0x1234, 'a434'],
    [0x4234, '818434'],
    [0, '00'],
    [128, '8100'],
    [16_384, '818000'],
    [0xffff_ffff, '8fffffff7f'],
    [Number.MAX_SAFE_INTEGER, '8fffffffffffff7f'],
  ])('encodes %i as %s (RFC 6256 §2.1 examples first) and reads it back', (value, hex) => {
    expect(toHex(encodeSdnv(value))).toBe(hex);
    expect(readSdnv(fromHex(hex), 0, Number.MAX_SAFE_INTEGER)).toEqual({ kind: 'value', value, byteLength: hex.length / 2 });
  });

  it('takes 1 to 5 bytes across HDTN\'s 26 boundary values, 76 bytes in all', () => {
    const values = [0, 1, 2, 125, 126, 127, 128, 129, 16_381, 16_382, 16_383, 16_384, 16_385, 2_097_149, 2_097_150, 2_097_151, 2_097_152, 2_097_153,
      268_435_453, 268_435_454, 268_435_455, 268_435_456, 268_435_457, 2 ** 32 - 3, 2 ** 32 - 2, 2 ** 32 - 1];
    expect(values.reduce((sum, v) => sum + sdnvByteLength(v), 0)).toBe(76);
    expect([127, 16_383, 2_097_151, 268_435_455, 2 ** 32 - 1].map(sdnvByteLength)).toEqual([1, 2, 3, 4, 5]);
    const joined = fromHex(values.map((v) => toHex(encodeSdnv(v))).join(''));
    const decoded: number[] = [];
    for (let at = 0; at < joined.length;) {
      const read = readSdnv(joined, at, Number.MAX_SAFE_INTEGER);
      if (read.kind !== 'value') throw new Error(`at byte ${at}: ${read.kind}`);
      decoded.push(read.value);
      at += read.byteLength;
    }
    expect(decoded).toEqual(values);
  });

  it('waits for the bytes of an SDNV that has not ended', () => {
    expect(readSdnv(fromHex('8181'), 0, 1e9)).toEqual({ kind: 'incomplete' });
    expect(readSdnv(fromHex('00ff81'), 2, 1e9)).toEqual({ kind: 'incomplete' });
  });

  it('refuses a value above the limit as soon as its bytes show it, before the rest arrives', () => {
    expect(readSdnv(fromHex('ffff'), 0, 1024)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('1024') });
    expect(readSdnv(fromHex('8801'), 0, 1024)).toMatchObject({ kind: 'invalid' });
    expect(readSdnv(fromHex('8800'), 0, 1024)).toEqual({ kind: 'value', value: 1024, byteLength: 2 });
  });

  it(`refuses an SDNV longer than ${SDNV_BYTES_MAX} bytes, and reads leading zero groups as ION does`, () => {
    expect(readSdnv(fromHex('80'.repeat(10) + '01'), 0, Number.MAX_SAFE_INTEGER)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('longer than 10') });
    expect(readSdnv(fromHex('808001'), 0, 10)).toEqual({ kind: 'value', value: 1, byteLength: 3 });
  });
});

// Contract test for dtn/cbor.ts (STYLE rule 17): pins the cbor-x 1.6.9 behaviour the writer relies
// on (shortest-form heads once integers are handed over as number below 2^32 and bigint above,
// untagged byte strings, definite-length arrays, fresh output buffers), and the strictness of our
// own reader, which exists because the cbor-x decoder cannot give it (see the header of cbor.ts).
import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { CBOR_SKIP_DEPTH_MAX, CborReader, cborHeadBytes, encodeCbor, encodeIndefiniteArray } from '../../dtn/cbor.ts';
import { codeOf, fromHex, toHex } from './sample-bundles.ts';

const CODES = { truncated: 'TRUNCATED', malformed: 'MALFORMED', invalid: 'INVALID' };
const reader = (hex: string): CborReader => new CborReader(fromHex(hex), CODES);

describe('encodeCbor (through cbor-x)', () => {
  it('writes unsigned integers in shortest form on both sides of every head boundary', () => {
    const cases: [number | bigint, string][] = [
      [0, '00'], [23, '17'], [24, '1818'], [255, '18ff'], [256, '190100'], [65_535, '19ffff'], [65_536, '1a00010000'],
      [2 ** 32 - 1, '1affffffff'], [2 ** 32, '1b0000000100000000'], [2 ** 53 - 1, '1b001fffffffffffff'],
      [5n, '05'], [2n ** 32n - 1n, '1affffffff'], [2n ** 64n - 1n, '1bffffffffffffffff'],
    ];
    for (const [value, hex] of cases) expect(toHex(encodeCbor(value)), String(value)).toBe(hex);
  });

  it('writes byte strings untagged (no tag 64), views included, with shortest length heads', () => {
    expect(toHex(encodeCbor(new Uint8Array([1, 2])))).toBe('420102');
    expect(toHex(encodeCbor(new Uint8Array([9, 9, 1, 2, 9]).subarray(2, 4)))).toBe('420102');
    expect(toHex(encodeCbor(Buffer.from([1])))).toBe('4101');
    for (const [length, head] of [[0, '40'], [23, '57'], [24, '5818'], [255, '58ff'], [256, '590100'], [65_535, '59ffff'], [65_536, '5a00010000']] as const) {
      const bytes = encodeCbor(new Uint8Array(length));
      expect(toHex(bytes.subarray(0, head.length / 2)), `length ${length}`).toBe(head);
      expect(bytes.length).toBe(head.length / 2 + length);
    }
  });

  it('writes text as definite-length UTF-8, arrays definite-length, booleans as f4/f5', () => {
    expect(toHex(encodeCbor('é'))).toBe('62c3a9');
    expect(toHex(encodeCbor('x'.repeat(300)).subarray(0, 3))).toBe('79012c');
    expect(toHex(encodeCbor([7, [true, false], []]))).toBe('830782f5f480');
    expect(toHex(encodeCbor(new Array(24).fill(0)).subarray(0, 2))).toBe('9818');
  });

  it('returns a fresh plain Uint8Array each time, not a view into a buffer cbor-x reuses', () => {
    const first = encodeCbor([1]);
    const second = encodeCbor([2]);
    expect(first.constructor).toBe(Uint8Array);
    expect(first.buffer).not.toBe(second.buffer);
    expect(toHex(first)).toBe('8101');
  });

  it('asserts (a programming error, not input) on negative, fractional, unsafe or 65-bit integers', () => {
    for (const value of [-1, 1.5, 2 ** 53, -1n, 2n ** 64n]) expect(() => encodeCbor(value), String(value)).toThrow(AssertionError);
  });

  it('frames an indefinite-length array as 0x9f, the items, 0xff', () => {
    expect(toHex(encodeIndefiniteArray([encodeCbor(1), encodeCbor([2])]))).toBe('9f018102ff');
  });

  it('knows the size of a head', () => {
    expect([0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32].map(cborHeadBytes)).toEqual([1, 1, 2, 2, 3, 3, 5, 5, 9]);
  });
});

describe('CborReader', () => {
  it('reads back what encodeCbor writes', () => {
    const r = new CborReader(encodeCbor([2 ** 40, 2n ** 64n - 1n, 'dtn', new Uint8Array([1, 2]), true]), CODES);
    expect(r.readArrayHeader('a')).toBe(5);
    expect(r.readUint('u')).toBe(2 ** 40);
    expect(r.readBigUint('b')).toBe(2n ** 64n - 1n);
    expect(r.readText('t', 10)).toBe('dtn');
    expect(r.readBytes('y')).toEqual(new Uint8Array([1, 2]));
    expect(r.readBool('z')).toBe(true);
    expect(r.atEnd).toBe(true);
  });

  it('refuses integer and length heads that are not in shortest form (RFC 8949 §4.2.1)', () => {
    for (const hex of ['1800', '1817', '190017', '1900ff', '1a0000ffff', '1b00000000ffffffff']) {
      expect(codeOf(() => reader(hex).readBigUint('u')), hex).toBe('MALFORMED');
    }
    expect(codeOf(() => reader('580101').readBytes('b'))).toBe('MALFORMED');
    expect(codeOf(() => reader('9800').readArrayHeader('a'))).toBe('MALFORMED');
  });

  it('refuses indefinite-length items where only definite ones belong', () => {
    expect(codeOf(() => reader('9f01ff').readArrayHeader('a'))).toBe('MALFORMED');
    expect(codeOf(() => reader('5f4101ff').readBytes('b'))).toBe('MALFORMED');
    expect(codeOf(() => reader('7f6161ff').readText('t', 10))).toBe('MALFORMED');
  });

  it('refuses tags, maps, negative integers and floats where an unsigned integer belongs', () => {
    for (const hex of ['c11a5f000000', 'a0', '20', 'f93c00', 'f6', '6161', '40']) {
      expect(codeOf(() => reader(hex).readBigUint('u')), hex).toBe('INVALID');
    }
  });

  it('refuses reserved additional information 28–30', () => {
    for (const hex of ['1c', '3d', '5e', 'fc']) expect(codeOf(() => reader(hex).skipItem('x')), hex).toBe('MALFORMED');
  });

  it('reports input that ends inside a head, a string or an array as truncated', () => {
    for (const hex of ['', '19', '1a0000', '43aabb', '5a00010000', '83', '9f']) {
      expect(codeOf(() => reader(hex).skipItem('x')), hex).toBe('TRUNCATED');
    }
    expect(codeOf(() => reader('5bffffffffffffffff').readBytes('b'))).toBe('TRUNCATED');
    expect(codeOf(() => reader('9bffffffffffffffff').readArrayHeader('a'))).toBe('TRUNCATED');
  });

  it('refuses text that is not UTF-8, and keeps a leading BOM rather than dropping it', () => {
    expect(codeOf(() => reader('62c328').readText('t', 10))).toBe('MALFORMED');
    expect(reader('63efbbbf').readText('t', 10)).toBe('\ufeff');
  });

  it('enforces the caller\'s bounds on integers and string lengths', () => {
    expect(codeOf(() => reader('18ff').readUint('u', 200))).toBe('INVALID');
    expect(codeOf(() => reader('1b0020000000000000').readUint('u'))).toBe('INVALID');
    expect(codeOf(() => reader('6461626364').readText('t', 3))).toBe('INVALID');
  });

  it('returns byte strings as copies, so the input may be reused', () => {
    const input = Buffer.from('42aabb', 'hex');
    const bytes = new CborReader(input, CODES).readBytes('b');
    input[1] = 0;
    expect(bytes.constructor).toBe(Uint8Array);
    expect(toHex(bytes)).toBe('aabb');
  });

  it('skips any well-formed item: maps, tags, floats, negative numbers, indefinite strings and arrays', () => {
    const hex = '86a201206161f5c11a5f000000fb3ff80000000000005f4101ff9f0102ff7f6161ff';
    const r = reader(hex);
    r.skipItem('x');
    expect(r.atEnd).toBe(true);
  });

  it('refuses stray breaks, bad simple values and chunks of another type when skipping', () => {
    for (const hex of ['ff', 'f810', '5f6161ff', '7f4161ff', 'df00']) expect(codeOf(() => reader(hex).skipItem('x')), hex).toBe('MALFORMED');
  });

  it(`stops following nested items after ${CBOR_SKIP_DEPTH_MAX} levels`, () => {
    expect(codeOf(() => reader('81'.repeat(CBOR_SKIP_DEPTH_MAX + 2) + '00').skipItem('x'))).toBe('MALFORMED');
    const r = reader('81'.repeat(CBOR_SKIP_DEPTH_MAX) + '00');
    r.skipItem('x');
    expect(r.atEnd).toBe(true);
  });

  it('names the field and the byte offset in its errors', () => {
    expect(() => reader('00 6161'.replace(' ', '')).readArrayHeader('primary block')).toThrow(/primary block: expected an array, found an unsigned integer at byte 0/);
  });
});

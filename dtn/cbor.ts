// CBOR for the Bundle Protocol (RFC 8949, as profiled by RFC 9171 §4.1): the only importer of
// cbor-x in the code base (STYLE rule 17).
//
// RFC 9171 §4.1: a bundle is a CBOR indefinite-length array of blocks, and "the CBOR encodings of
// the values of all fields in all blocks MUST conform to the core deterministic encoding
// requirements" of RFC 8949 §4.2.1 (shortest-form heads), indefinite-length items excepted.
//
// Writing goes through cbor-x, with two corrections pinned by test/dtn/cbor-contract.test.ts
// (cbor-x 1.6.9):
// - cbor-x writes a JS number of 2^32 or more as a float64 (`fb…`) and a bigint always as a
//   9-byte uint64 (`1b…`), so `encodeCbor` hands cbor-x integers below 2^32 as numbers and the rest
//   as bigints: each then gets its shortest head. DTN times (ms since 2000) are above 2^32.
// - cbor-x returns views into one buffer that later calls write into too, so we copy.
// cbor-x cannot write an indefinite-length array, so `encodeIndefiniteArray` frames the bundle
// itself (0x9f … 0xff).
//
// Reading is our own `CborReader`, because the cbor-x decoder cannot be made strict enough for
// bundles: it returns no byte offsets (CRCs are checked over each block's bytes as received,
// RFC 9171 §4.3.1), it decodes definite- and indefinite-length arrays to the same value, it accepts
// heads that are not in shortest form (`1800` decodes as 0, `1b0000000000000005` as 5n), and it
// interprets tags (tag 1 becomes a Date, tag 64 a Uint8Array, records and packed-CBOR tags) that a
// bundle must not contain. The reader covers the subset BPv7 uses: unsigned integers up to 2^64-1,
// definite-length byte and text strings and arrays, booleans; anything else is a typed error.
// `skipItem` walks any well-formed item (for record content we keep as bytes, such as an
// administrative record of a type we do not know).
import assert from 'node:assert/strict';
import { Encoder } from 'cbor-x';
import { OrbitfedError } from '../common/index.ts';

/** The values `encodeCbor` writes: unsigned integers, byte strings, text, booleans and arrays. */
export type CborValue = number | bigint | boolean | string | Uint8Array | readonly CborValue[];

/** The error codes a reader throws, so that each format reports in its own vocabulary. */
export interface CborErrorCodes {
  /** The input ended inside an item. */
  readonly truncated: string;
  /** Not well-formed CBOR, or outside the strict subset (a head not in shortest form, a tag, …). */
  readonly malformed: string;
  /** Well-formed, but not what the field holds (wrong type, out of range, wrong number of items). */
  readonly invalid: string;
}

export const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const MAJOR_SIMPLE = 7;

const MAJOR_NAMES = ['an unsigned integer', 'a negative integer', 'a byte string', 'a text string', 'an array', 'a map', 'a tag', 'a simple value or float'];
const INDEFINITE_ARRAY_START = 0x9f;
const BREAK = 0xff;
const AI_INDEFINITE = 31;
const UINT64_MAX = (1n << 64n) - 1n;
const TWO_POW_32 = 0x1_0000_0000;
/** How deep `skipItem` follows nested arrays, maps and tags before calling the input malformed. */
export const CBOR_SKIP_DEPTH_MAX = 32;

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, largeBigIntToFloat: false });
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Puts integers in the form for which cbor-x writes the shortest head (see the header comment). */
function forCborX(value: CborValue): unknown {
  if (typeof value === 'number') {
    assert(Number.isSafeInteger(value) && value >= 0, `CBOR writer: ${value} is not an unsigned safe integer`);
    return value < TWO_POW_32 ? value : BigInt(value);
  }
  if (typeof value === 'bigint') {
    assert(value >= 0n && value <= UINT64_MAX, `CBOR writer: ${value} is outside 0 … 2^64-1`);
    return value < BigInt(TWO_POW_32) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(forCborX);
  return value;
}

/** The deterministic (shortest-form, definite-length) encoding of a value. */
export function encodeCbor(value: CborValue): Uint8Array {
  return new Uint8Array(encoder.encode(forCborX(value)));
}

/** An indefinite-length array of already-encoded items: 0x9f, the items, 0xff (RFC 8949 §3.2.2). */
export function encodeIndefiniteArray(items: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(2 + items.reduce((sum, item) => sum + item.length, 0));
  out[0] = INDEFINITE_ARRAY_START;
  let offset = 1;
  for (const item of items) {
    out.set(item, offset);
    offset += item.length;
  }
  out[offset] = BREAK;
  return out;
}

/** Bytes the head of a byte string of this length takes in shortest form (RFC 8949 §3). */
export function cborHeadBytes(argument: number): number {
  if (argument < 24) return 1;
  if (argument < 0x100) return 2;
  if (argument < 0x1_0000) return 3;
  if (argument < TWO_POW_32) return 5;
  return 9;
}

interface Head {
  readonly major: number;
  readonly additional: number;
  /** The argument; a bigint only when above Number.MAX_SAFE_INTEGER. */
  readonly argument: number | bigint;
}

/**
 * A strict, position-aware reader over one buffer. Every read names the field it is reading, so
 * errors say where they are ("primary block: lifetime: expected an unsigned integer, found a text
 * string at byte 40"). Byte strings are returned as copies, so the caller may reuse the input.
 */
export class CborReader {
  readonly #bytes: Uint8Array;
  readonly #codes: CborErrorCodes;
  #offset: number;

  constructor(bytes: Uint8Array, codes: CborErrorCodes, offset = 0) {
    assert(offset >= 0 && offset <= bytes.length);
    this.#bytes = bytes;
    this.#codes = codes;
    this.#offset = offset;
  }

  /** Position of the next unread byte. */
  get offset(): number {
    return this.#offset;
  }

  get atEnd(): boolean {
    return this.#offset >= this.#bytes.length;
  }

  /** The bytes between two offsets already read (a view, not a copy). */
  view(start: number, end: number): Uint8Array {
    assert(start >= 0 && start <= end && end <= this.#offset);
    return this.#bytes.subarray(start, end);
  }

  /**
   * A copy, as a plain Uint8Array, of bytes already read. (Not `slice`: on a Node Buffer input,
   * `Buffer#slice` returns a view, and the caller may reuse the buffer.)
   */
  copy(start: number, end: number): Uint8Array {
    return new Uint8Array(this.view(start, end));
  }

  fail(kind: keyof CborErrorCodes, field: string, message: string): never {
    throw new OrbitfedError(this.#codes[kind], message, { field });
  }

  /** The major type of the next item, without consuming it. */
  peekMajor(field: string): number {
    if (this.atEnd) this.fail('truncated', field, `input ends at byte ${this.#offset}, where an item was expected`);
    return this.#bytes[this.#offset]! >> 5;
  }

  /** True when the next byte is the "break" stop code that ends an indefinite-length item. */
  peekBreak(field: string): boolean {
    if (this.atEnd) this.fail('truncated', field, `input ends at byte ${this.#offset}, before the break that ends the array`);
    return this.#bytes[this.#offset] === BREAK;
  }

  /** Consumes the start of an indefinite-length array (0x9f). */
  readIndefiniteArrayStart(field: string): void {
    const at = this.#offset;
    const head = this.#readHead(field, true);
    if (head.major !== MAJOR_ARRAY || head.additional !== AI_INDEFINITE) {
      const what = head.major === MAJOR_ARRAY ? 'a definite-length array' : MAJOR_NAMES[head.major];
      this.fail('invalid', field, `expected an indefinite-length array, found ${what} at byte ${at}`);
    }
  }

  readBreak(field: string): void {
    if (!this.peekBreak(field)) this.fail('invalid', field, `expected the break that ends the array at byte ${this.#offset}`);
    this.#offset++;
  }

  /** Consumes a definite-length array head and returns its item count. */
  readArrayHeader(field: string): number {
    const head = this.#expect(MAJOR_ARRAY, field);
    return this.#lengthOf(head, field);
  }

  /** An unsigned integer as a bigint (0 … 2^64-1). */
  readBigUint(field: string): bigint {
    const head = this.#expect(MAJOR_UNSIGNED, field);
    return BigInt(head.argument);
  }

  /** An unsigned integer no larger than `max` (at most Number.MAX_SAFE_INTEGER). */
  readUint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.#offset;
    const head = this.#expect(MAJOR_UNSIGNED, field);
    if (typeof head.argument === 'bigint' || head.argument > max) {
      this.fail('invalid', field, `${head.argument} at byte ${at} is above the largest value accepted here (${max})`);
    }
    return head.argument;
  }

  readBool(field: string): boolean {
    const at = this.#offset;
    const head = this.#readHead(field, false);
    if (head.major === MAJOR_SIMPLE && (head.additional === 20 || head.additional === 21)) return head.additional === 21;
    return this.fail('invalid', field, `expected a boolean, found ${MAJOR_NAMES[head.major]} at byte ${at}`);
  }

  /** A definite-length byte string of at most `maxLength` bytes, copied out of the input. */
  readBytes(field: string, maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
    const start = this.#bytesStart(MAJOR_BYTES, field, maxLength);
    return this.copy(start.dataAt, start.dataAt + start.length);
  }

  /** Like `readBytes`, but returns where the string's content sits in the input instead of a copy. */
  readBytesSpan(field: string, maxLength = Number.MAX_SAFE_INTEGER): { readonly dataAt: number; readonly length: number } {
    return this.#bytesStart(MAJOR_BYTES, field, maxLength);
  }

  /** A definite-length UTF-8 text string of at most `maxBytes` bytes. */
  readText(field: string, maxBytes: number): string {
    const start = this.#bytesStart(MAJOR_TEXT, field, maxBytes);
    try {
      return utf8.decode(this.#bytes.subarray(start.dataAt, start.dataAt + start.length));
    } catch {
      return this.fail('malformed', field, `text string at byte ${start.dataAt} is not valid UTF-8`);
    }
  }

  /**
   * Consumes one well-formed item of any type (RFC 8949 Appendix C), indefinite-length items and
   * tags included, nested at most CBOR_SKIP_DEPTH_MAX deep.
   */
  skipItem(field: string, depth = 0): void {
    if (depth > CBOR_SKIP_DEPTH_MAX) this.fail('malformed', field, `items nest deeper than ${CBOR_SKIP_DEPTH_MAX} levels`);
    const at = this.#offset;
    const head = this.#readHead(field, true);
    const indefinite = head.additional === AI_INDEFINITE;
    switch (head.major) {
      case MAJOR_UNSIGNED:
      case MAJOR_NEGATIVE:
        return;
      case MAJOR_BYTES:
      case MAJOR_TEXT:
        if (indefinite) {
          while (!this.peekBreak(field)) {
            const chunkAt = this.#offset;
            const chunk = this.#readHead(field, false);
            if (chunk.major !== head.major) this.fail('malformed', field, `chunk at byte ${chunkAt} of an indefinite-length string has another major type`);
            this.#advance(this.#lengthOf(chunk, field), field);
          }
          this.#offset++;
        } else {
          this.#advance(this.#lengthOf(head, field), field);
        }
        return;
      case MAJOR_ARRAY:
      case MAJOR_MAP: {
        const perEntry = head.major === MAJOR_MAP ? 2 : 1;
        if (indefinite) {
          while (!this.peekBreak(field)) for (let i = 0; i < perEntry; i++) this.skipItem(field, depth + 1);
          this.#offset++;
        } else {
          // Each item takes at least one byte, so a count the input cannot hold ends as truncated.
          const count = this.#lengthOf(head, field);
          for (let i = 0; i < count * perEntry; i++) this.skipItem(field, depth + 1);
        }
        return;
      }
      case MAJOR_TAG:
        if (indefinite) this.fail('malformed', field, `tag at byte ${at} has additional information 31`);
        this.skipItem(field, depth + 1);
        return;
      default:
        // RFC 8949 §3.3: a one-byte simple value below 32 is not well-formed; 25–27 are floats whose
        // bytes #readHead already consumed; 31 alone is a stray break.
        if (indefinite) this.fail('malformed', field, `unexpected break at byte ${at}`);
        if (head.additional === 24 && Number(head.argument) < 32) this.fail('malformed', field, `simple value at byte ${at} uses two bytes for a value below 32`);
        return;
    }
  }

  #expect(major: number, field: string): Head {
    const at = this.#offset;
    const head = this.#readHead(field, false);
    if (head.major !== major) this.fail('invalid', field, `expected ${MAJOR_NAMES[major]}, found ${MAJOR_NAMES[head.major]} at byte ${at}`);
    return head;
  }

  #bytesStart(major: number, field: string, maxLength: number): { readonly dataAt: number; readonly length: number } {
    const at = this.#offset;
    const head = this.#expect(major, field);
    const length = this.#lengthOf(head, field);
    if (length > maxLength) this.fail('invalid', field, `${MAJOR_NAMES[major]} of ${length} bytes at byte ${at} is longer than the ${maxLength} accepted here`);
    const dataAt = this.#offset;
    this.#advance(length, field);
    return { dataAt, length };
  }

  #lengthOf(head: Head, field: string): number {
    if (head.additional === AI_INDEFINITE) {
      this.fail('malformed', field, `indefinite-length ${MAJOR_NAMES[head.major]} before byte ${this.#offset}, where only definite-length items are accepted`);
    }
    const remaining = this.#bytes.length - this.#offset;
    if (typeof head.argument === 'bigint' || head.argument > remaining) {
      this.fail('truncated', field, `${MAJOR_NAMES[head.major]} before byte ${this.#offset} declares ${head.argument} items or bytes, only ${remaining} bytes remain`);
    }
    return head.argument;
  }

  #advance(length: number, field: string): void {
    if (length > this.#bytes.length - this.#offset) this.fail('truncated', field, `input ends inside an item at byte ${this.#bytes.length}`);
    this.#offset += length;
  }

  /** Reads an initial byte and its argument, enforcing shortest form (RFC 8949 §4.2.1). */
  #readHead(field: string, allowIndefinite: boolean): Head {
    const at = this.#offset;
    if (at >= this.#bytes.length) this.fail('truncated', field, `input ends at byte ${at}, where an item was expected`);
    const initial = this.#bytes[at]!;
    const major = initial >> 5;
    const additional = initial & 0x1f;
    this.#offset++;
    if (additional < 24) return { major, additional, argument: additional };
    if (additional === AI_INDEFINITE) {
      const mayBeIndefinite = major === MAJOR_BYTES || major === MAJOR_TEXT || major === MAJOR_ARRAY || major === MAJOR_MAP || major === MAJOR_SIMPLE;
      if (!mayBeIndefinite) this.fail('malformed', field, `${MAJOR_NAMES[major]} at byte ${at} has additional information 31`);
      if (!allowIndefinite) {
        const what = major === MAJOR_SIMPLE ? 'a break' : `an indefinite-length ${MAJOR_NAMES[major]}`;
        this.fail(major === MAJOR_SIMPLE ? 'invalid' : 'malformed', field, `found ${what} at byte ${at}, where only definite-length items are accepted`);
      }
      return { major, additional, argument: 0 };
    }
    if (additional > 27) this.fail('malformed', field, `reserved additional information ${additional} at byte ${at}`);
    const width = 1 << (additional - 24);
    if (width > this.#bytes.length - this.#offset) this.fail('truncated', field, `input ends inside the head at byte ${at}`);
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + this.#offset, width);
    this.#offset += width;
    let argument: number | bigint;
    if (width === 1) argument = view.getUint8(0);
    else if (width === 2) argument = view.getUint16(0);
    else if (width === 4) argument = view.getUint32(0);
    else {
      const big = view.getBigUint64(0);
      argument = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    // Floats (major 7 with 2, 4 or 8 bytes) carry bits, not an argument: no shortest-form rule.
    if (major !== MAJOR_SIMPLE || additional === 24) {
      const smallestForWidth = [24, 0x100, 0x1_0000, TWO_POW_32][additional - 24]!;
      if (BigInt(argument) < BigInt(smallestForWidth)) {
        this.fail('malformed', field, `${MAJOR_NAMES[major]} head at byte ${at} is not in shortest form (RFC 9171 §4.1, RFC 8949 §4.2.1)`);
      }
    }
    return { major, additional, argument };
  }
}

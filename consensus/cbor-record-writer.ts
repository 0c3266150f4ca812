// The deterministic CBOR of small records (RFC 8949 §4.2.1: shortest-form heads, definite lengths),
// byte for byte what dtn/'s `encodeCbor` writes, for the ledger's hot loop: every entry a block
// changes is encoded and hashed for the state digest (state-digest.ts), two or three per settled
// receipt. dtn/'s writer goes through cbor-x, whose general encoder (after converting integers for
// it) costs ~3.5 µs for a ten-field record here; this one writes the few types records hold
// directly into one buffer in well under a microsecond. test/consensus/cbor-record-writer.test.ts
// pins the equality with `encodeCbor` on random values.
import assert from 'node:assert/strict';
import type { CborValue } from '../dtn/index.ts';

const UINT64_MAX = (1n << 64n) - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_POW_32 = 0x1_0000_0000;
const MAJOR_UNSIGNED = 0;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const FALSE = 0xf4;
const TRUE = 0xf5;
/** Records nest arrays a few levels deep at most; deeper is a caller's bug. */
const DEPTH_MAX = 16;

const utf8 = new TextEncoder();

class RecordWriter {
  bytes = new Uint8Array(256);
  view = new DataView(this.bytes.buffer);
  at = 0;

  ensure(extra: number): void {
    if (this.at + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.at + extra));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** A head in shortest form: the argument in the initial byte below 24, else in 1, 2, 4 or 8 bytes. */
  head(major: number, argument: number): void {
    this.ensure(9);
    const m = major << 5;
    if (argument < 24) {
      this.bytes[this.at++] = m | argument;
    } else if (argument < 0x100) {
      this.bytes[this.at++] = m | 24;
      this.bytes[this.at++] = argument;
    } else if (argument < 0x1_0000) {
      this.bytes[this.at++] = m | 25;
      this.view.setUint16(this.at, argument);
      this.at += 2;
    } else if (argument < TWO_POW_32) {
      this.bytes[this.at++] = m | 26;
      this.view.setUint32(this.at, argument);
      this.at += 4;
    } else {
      this.bytes[this.at++] = m | 27;
      this.view.setUint32(this.at, Math.floor(argument / TWO_POW_32));
      this.view.setUint32(this.at + 4, argument >>> 0);
      this.at += 8;
    }
  }

  value(value: CborValue, depth: number): void {
    if (typeof value === 'number') {
      // (The messages are built only on failure: a template in the assertion's argument would be built every call.)
      if (!Number.isSafeInteger(value) || value < 0) assert.fail(`CBOR writer: ${value} is not an unsigned safe integer`);
      this.head(MAJOR_UNSIGNED, value);
    } else if (typeof value === 'bigint') {
      if (value < 0n || value > UINT64_MAX) assert.fail(`CBOR writer: ${value} is outside 0 … 2^64-1`);
      if (value <= SAFE_MAX) {
        this.head(MAJOR_UNSIGNED, Number(value));
      } else {
        this.ensure(9);
        this.bytes[this.at++] = (MAJOR_UNSIGNED << 5) | 27;
        this.view.setBigUint64(this.at, value);
        this.at += 8;
      }
    } else if (typeof value === 'string') {
      this.text(value);
    } else if (typeof value === 'boolean') {
      this.ensure(1);
      this.bytes[this.at++] = value ? TRUE : FALSE;
    } else if (value instanceof Uint8Array) {
      this.head(MAJOR_BYTES, value.length);
      this.ensure(value.length);
      this.bytes.set(value, this.at);
      this.at += value.length;
    } else {
      if (!Array.isArray(value) || depth >= DEPTH_MAX) assert.fail('CBOR writer: a value is an unsigned integer, text, bytes, a boolean or an array nested at most 16 deep');
      this.head(MAJOR_ARRAY, value.length);
      for (const item of value) this.value(item, depth + 1);
    }
  }

  text(value: string): void {
    // ASCII (ids, currency codes) is written as it is scanned; anything else through TextEncoder.
    let ascii = value.length < 0x1_0000;
    for (let i = 0; ascii && i < value.length; i++) ascii = value.charCodeAt(i) < 0x80;
    if (ascii) {
      this.head(MAJOR_TEXT, value.length);
      this.ensure(value.length);
      for (let i = 0; i < value.length; i++) this.bytes[this.at++] = value.charCodeAt(i);
      return;
    }
    const encoded = utf8.encode(value);
    this.head(MAJOR_TEXT, encoded.length);
    this.ensure(encoded.length);
    this.bytes.set(encoded, this.at);
    this.at += encoded.length;
  }
}

/** One writer for the module, reused: each call starts at 0 and returns a copy of what it wrote. */
const writer = new RecordWriter();

/** The deterministic encoding of `value`: the same bytes as dtn/'s `encodeCbor`. */
export function encodeCborRecord(value: CborValue): Uint8Array {
  writer.at = 0;
  writer.value(value, 0);
  return writer.bytes.slice(0, writer.at);
}

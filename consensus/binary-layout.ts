// Fixed-layout big-endian bytes for what consensus signs and hashes (votes, proposals, block
// headers, commits, evidence). Signed bytes must be exactly reproducible by every validator, so they
// are written field by field in a documented order, never by a general serializer whose output could
// change with a library version. Every length is bounded; a reader refuses trailing or missing bytes.
import assert from 'node:assert/strict';
import { OrbitfedError } from '../common/index.ts';

/** Largest integer written as u64: integers above 2^53 − 1 do not survive a JavaScript number. */
const U64_SAFE_MAX = Number.MAX_SAFE_INTEGER;

/** Appends fields to a growing buffer that may never exceed `bytesMax`. */
export class ByteWriter {
  readonly #bytesMax: number;
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(bytesMax: number, initialBytes = 256) {
    assert.ok(Number.isSafeInteger(bytesMax) && bytesMax > 0, `bytesMax must be a positive integer, got ${bytesMax}`);
    this.#bytesMax = bytesMax;
    this.#buffer = new Uint8Array(Math.min(initialBytes, bytesMax));
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Room for `bytes` more; returns where they go. Call before touching #buffer or #view: it may replace them. */
  #reserve(bytes: number): number {
    const at = this.#length;
    const needed = at + bytes;
    if (needed > this.#bytesMax) {
      throw new OrbitfedError('ORBITFED_CONSENSUS_ENCODING_TOO_LARGE', `encoding needs ${needed} bytes; at most ${this.#bytesMax} are allowed`);
    }
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.min(this.#bytesMax, Math.max(needed, this.#buffer.length * 2)));
      grown.set(this.#buffer.subarray(0, at));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }

  u8(value: number): this {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xff, `u8 out of range: ${value}`);
    const at = this.#reserve(1);
    this.#buffer[at] = value;
    return this;
  }

  u16(value: number): this {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffff, `u16 out of range: ${value}`);
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
    return this;
  }

  u32(value: number): this {
    assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, `u32 out of range: ${value}`);
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
    return this;
  }

  u64(value: number): this {
    assert.ok(Number.isSafeInteger(value) && value >= 0 && value <= U64_SAFE_MAX, `u64 out of range: ${value}`);
    const at = this.#reserve(8);
    this.#view.setUint32(at, Math.floor(value / 2 ** 32));
    this.#view.setUint32(at + 4, value % 2 ** 32);
    return this;
  }

  /** Bytes of a length both sides know (a 32-byte hash). */
  fixed(bytes: Uint8Array, length: number): this {
    assert.equal(bytes.length, length, `expected ${length} bytes, got ${bytes.length}`);
    const at = this.#reserve(length);
    this.#buffer.set(bytes, at);
    return this;
  }

  /** A u8 length, then the bytes (at most 255). */
  shortBytes(bytes: Uint8Array): this {
    this.u8(bytes.length);
    const at = this.#reserve(bytes.length);
    this.#buffer.set(bytes, at);
    return this;
  }

  /** A u32 length, then the bytes. */
  longBytes(bytes: Uint8Array): this {
    this.u32(bytes.length);
    const at = this.#reserve(bytes.length);
    this.#buffer.set(bytes, at);
    return this;
  }

  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}

/** Reads fields back; every shortfall is ORBITFED_CONSENSUS_DECODE with the offset. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#offset;
  }

  #take(length: number): number {
    const at = this.#offset;
    if (at + length > this.#bytes.length) {
      throw new OrbitfedError('ORBITFED_CONSENSUS_DECODE', `needs ${length} bytes at offset ${at}; only ${this.#bytes.length - at} remain`);
    }
    this.#offset = at + length;
    return at;
  }

  u8(): number {
    return this.#bytes[this.#take(1)]!;
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4));
  }

  u64(): number {
    const at = this.#take(8);
    const high = this.#view.getUint32(at);
    if (high >= 2 ** 21) throw new OrbitfedError('ORBITFED_CONSENSUS_DECODE', `u64 at offset ${at} is beyond 2^53 − 1`);
    return high * 2 ** 32 + this.#view.getUint32(at + 4);
  }

  fixed(length: number): Uint8Array {
    const at = this.#take(length);
    return this.#bytes.subarray(at, at + length);
  }

  shortBytes(): Uint8Array {
    return this.fixed(this.u8());
  }

  /** Refuses bytes left over: a signed structure is exactly its fields. */
  end(): void {
    if (this.#offset !== this.#bytes.length) {
      throw new OrbitfedError('ORBITFED_CONSENSUS_DECODE', `${this.#bytes.length - this.#offset} unexpected bytes after offset ${this.#offset}`);
    }
  }
}

/** Lowercase hex of bytes. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of lowercase hex; asserts the text is such hex (callers validate untrusted text with `isHex` first). */
export function bytesOfHex(hex: string): Uint8Array {
  assert.ok(isHex(hex), `not hex: ${hex.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** True for lowercase hex of whole bytes (the one spelling ids and addresses use). */
export function isHex(text: string): boolean {
  return HEX.test(text);
}

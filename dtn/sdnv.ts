// Self-Delimiting Numeric Values (RFC 6256 §2), the integer encoding of TCPCLv3 (RFC 7242 §4.1,
// §5.2–§5.6): the contact header's EID length, DATA_SEGMENT and ACK_SEGMENT lengths, the LENGTH
// message and SHUTDOWN's reconnection delay.
//
// RFC 6256 §2.1: the value is split into 7-bit groups, most significant first; each group is one
// byte whose high bit is 1 on every byte but the last. So 0x7F is `7f`, 0xABC is `95 3c`, 0x4234 is
// `81 84 34`. The RFC sets no largest value; a reader must, and bounds it before allocating
// anything the value sizes: `readSdnv` takes the largest value the caller accepts and stops at the
// first byte that passes it, and never reads more than SDNV_BYTES_MAX bytes (ION's tcpcli.c gives
// up after 10 bytes, 70 bits, likewise). Values are JavaScript numbers, so at most 2^53 − 1: every
// length TCPCLv3 carries is far below that, and a larger one is refused as too large.
// A value written with leading zero groups (`80 01` for 1) is not in shortest form; RFC 6256 does
// not forbid it, so it is read, as ION and HDTN read it. We always write the shortest form.
import assert from 'node:assert/strict';

/** Most bytes one SDNV may take: 10 bytes carry 70 bits, more than any u64. */
export const SDNV_BYTES_MAX = 10;

/** The result of reading one SDNV from the front of some bytes. */
export type SdnvRead =
  | { readonly kind: 'value'; readonly value: number; readonly byteLength: number }
  /** The bytes end before the SDNV does: wait for more. */
  | { readonly kind: 'incomplete' }
  /** Not acceptable, whatever follows: larger than allowed or longer than SDNV_BYTES_MAX bytes. */
  | { readonly kind: 'invalid'; readonly reason: string };

const assertEncodable = (value: number): void =>
  assert.ok(Number.isSafeInteger(value) && value >= 0, `an SDNV encodes a whole number from 0 to 2^53-1, got ${value}`);

/** Bytes the shortest SDNV of `value` takes. */
export function sdnvByteLength(value: number): number {
  assertEncodable(value);
  let length = 1;
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) length += 1;
  return length;
}

/** Writes the shortest SDNV of `value` at `offset`; returns the number of bytes written. */
export function writeSdnv(target: Uint8Array, offset: number, value: number): number {
  const length = sdnvByteLength(value);
  assert.ok(offset >= 0 && offset + length <= target.length, `no room for a ${length}-byte SDNV at ${offset}`);
  let rest = value;
  for (let i = length - 1; i >= 0; i -= 1) {
    // Division, not shifts: values above 2^31 must not wrap.
    const group = rest % 128;
    rest = Math.floor(rest / 128);
    target[offset + i] = i === length - 1 ? group : group | 0x80;
  }
  return length;
}

/** The shortest SDNV of `value` (RFC 6256 §2.1). */
export function encodeSdnv(value: number): Uint8Array {
  const bytes = new Uint8Array(sdnvByteLength(value));
  writeSdnv(bytes, 0, value);
  return bytes;
}

/**
 * Reads one SDNV at `offset`. `valueMax` (at most 2^53 − 1) is the largest value the caller
 * accepts; a larger one is `invalid` as soon as its bytes show it, before the rest arrives.
 */
export function readSdnv(bytes: Uint8Array, offset: number, valueMax: number): SdnvRead {
  assert.ok(Number.isSafeInteger(valueMax) && valueMax >= 0, `valueMax must be a whole number from 0 to 2^53-1, got ${valueMax}`);
  let value = 0;
  for (let i = 0; i < SDNV_BYTES_MAX; i += 1) {
    if (offset + i >= bytes.length) return { kind: 'incomplete' };
    const byte = bytes[offset + i]!;
    value = value * 128 + (byte & 0x7f);
    if (value > valueMax) return { kind: 'invalid', reason: `SDNV value exceeds the largest accepted here (${valueMax})` };
    if ((byte & 0x80) === 0) return { kind: 'value', value, byteLength: i + 1 };
  }
  return { kind: 'invalid', reason: `SDNV longer than ${SDNV_BYTES_MAX} bytes` };
}

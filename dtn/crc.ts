// The two CRCs a BPv7 block may carry (RFC 9171 §4.2.1): CRC-16/X.25 (ITU-T X.25 §2.2.7.4) and
// CRC-32C (Castagnoli, RFC 4960 Appendix B / RFC 7143 §A.4). Both are the reflected, table-driven
// forms; parameters as catalogued by Greg Cook's "Catalogue of parametrised CRC algorithms":
//   CRC-16/X-25: poly 0x1021 (reflected 0x8408), init 0xFFFF, refin/refout, xorout 0xFFFF, check 0x906E
//   CRC-32C:     poly 0x1EDC6F41 (reflected 0x82F63B78), init 0xFFFFFFFF, refin/refout, xorout 0xFFFFFFFF, check 0xE3069283
// ("check" is the CRC of the nine ASCII bytes "123456789".)
//
// Both functions take one byte array or several, so a caller can CRC a block whose CRC field must
// read as zeros (RFC 9171 §4.3.1) without copying the block.

const CRC16_X25_REFLECTED_POLY = 0x8408;
const CRC32C_REFLECTED_POLY = 0x82f63b78;

const CRC16_TABLE = buildTable16();
const CRC32C_TABLE = buildTable32();

function buildTable16(): Uint16Array {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ CRC16_X25_REFLECTED_POLY : crc >>> 1;
    table[i] = crc;
  }
  return table;
}

function buildTable32(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ CRC32C_REFLECTED_POLY : crc >>> 1;
    table[i] = crc >>> 0;
  }
  return table;
}

const chunksOf = (data: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] =>
  data instanceof Uint8Array ? [data] : data;

/** CRC-16/X.25 of the bytes (or of the concatenation of the chunks), as an unsigned 16-bit number. */
export function crc16X25(data: Uint8Array | readonly Uint8Array[]): number {
  let crc = 0xffff;
  for (const chunk of chunksOf(data)) {
    for (let i = 0; i < chunk.length; i++) crc = (crc >>> 8) ^ CRC16_TABLE[(crc ^ chunk[i]!) & 0xff]!;
  }
  return (crc ^ 0xffff) & 0xffff;
}

/** CRC-32C (Castagnoli) of the bytes (or of the concatenation of the chunks), as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array | readonly Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const chunk of chunksOf(data)) {
    for (let i = 0; i < chunk.length; i++) crc = (crc >>> 8) ^ CRC32C_TABLE[(crc ^ chunk[i]!) & 0xff]!;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

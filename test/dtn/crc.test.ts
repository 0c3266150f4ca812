// CRC-16/X.25 and CRC-32C against their catalogued check values (the CRC of ASCII "123456789",
// Greg Cook's "Catalogue of parametrised CRC algorithms") and RFC 7143 §A.4's CRC32C examples,
// which RFC 9171 §4.2.1 points to.
import { describe, expect, it } from 'vitest';
import { crc16X25, crc32c } from '../../dtn/crc.ts';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc16X25', () => {
  it('gives the check value 0x906E for "123456789"', () => {
    expect(crc16X25(ascii('123456789'))).toBe(0x906e);
  });

  it('gives 0x0000 for no bytes (init and xorout cancel)', () => {
    expect(crc16X25(new Uint8Array(0))).toBe(0x0000);
  });

  it('gives the same value for the bytes split into chunks', () => {
    expect(crc16X25([ascii('1234'), ascii(''), ascii('56789')])).toBe(0x906e);
  });
});

describe('crc32c', () => {
  it('gives the check value 0xE3069283 for "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('matches RFC 7143 §A.4: 32 bytes of zeros, of ones, incrementing and decrementing', () => {
    // RFC 7143 lists the CRC as the bytes sent, least significant first; these are the values.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array(32).map((_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(32).map((_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('gives the same value for the bytes split into chunks', () => {
    expect(crc32c([ascii('123'), ascii('456789')])).toBe(0xe3069283);
  });
});

// Creation-timestamp sequence numbers that never repeat at this node, across restarts and clock
// steps. RFC 9171 §4.2.7: a bundle's source node ID and creation timestamp (DTN time and sequence
// number) identify it, so a node must never give two bundles the same pair; duplicate detection
// (our bundle store's, and every other node's) relies on it, and a repeat would make a new bundle
// look like an old one and be dropped as a duplicate. A counter held only in memory starts again at
// 0 after a crash; a clock may step back (NTP) or, in a simulation, not move at all across a restart.
// So the counter is never reset, whatever the time, and its high-water mark is on disk.
//
// Durability without a write per bundle: numbers are reserved in blocks. Before handing out the
// first number of a block, the end of the block is written to the file (a temporary file, fsync,
// rename over the old one, fsync of the directory: the file is always the old or the new value,
// never a torn mix). After a crash the counter resumes at the reserved end, skipping at most one
// block of unused numbers. A file that does not parse or whose CRC-32 does not match is refused with
// ORBITFED_SEQUENCE_CORRUPT rather than restarted from 0: guessing low would repeat identities.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { OrbitfedError, replaceFileDurably } from '../common/index.ts';

/** Numbers reserved per write by default. */
export const CREATION_SEQUENCE_BLOCK_DEFAULT = 4096;
const FORMAT = 'orbitfed-creation-sequence/1';
/** The file is one short line; anything longer is not ours. */
const FILE_BYTES_MAX = 256;

function corrupt(path: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_SEQUENCE_CORRUPT', `${message}; refusing to guess the next sequence number (a repeat would make new bundles look like old ones)`, { file: path });
}

function lineOf(reservedEnd: number): string {
  const body = `${FORMAT} ${reservedEnd}`;
  return `${body} ${(crc32(body) >>> 0).toString(16).padStart(8, '0')}\n`;
}

function readReservedEnd(path: string): number {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.byteLength > FILE_BYTES_MAX) throw corrupt(path, `the file is ${bytes.byteLength} bytes, more than the ${FILE_BYTES_MAX} of a sequence file`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof OrbitfedError) throw error;
    throw new OrbitfedError('ORBITFED_SEQUENCE_IO', `cannot read: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const match = /^(\S+) (\d{1,16}) ([0-9a-f]{8})\n$/.exec(text);
  if (match === null || match[1] !== FORMAT) throw corrupt(path, 'not an orbitfed creation-sequence file');
  const body = `${match[1]} ${match[2]}`;
  if ((crc32(body) >>> 0).toString(16).padStart(8, '0') !== match[3]) throw corrupt(path, 'the CRC-32 does not match');
  const reservedEnd = Number(match[2]);
  if (!Number.isSafeInteger(reservedEnd)) throw corrupt(path, `${match[2]} is beyond 2^53 − 1`);
  return reservedEnd;
}

/** Writes `line` to `path` so that a crash leaves either the old file or the new one. */
function replaceDurably(path: string, line: string): void {
  try {
    replaceFileDurably(path, line);
  } catch (error) {
    throw new OrbitfedError('ORBITFED_SEQUENCE_IO', `cannot write: ${(error as Error).message}`, { file: path }, { cause: error });
  }
}

/** The node's creation-sequence counter; see the header. Not shared between processes (the bundle store's lock guards the node). */
export class CreationSequence {
  readonly #path: string;
  readonly #blockSize: number;
  #next: number;
  #reservedEnd: number;
  #closed = false;

  private constructor(path: string, blockSize: number, reservedEnd: number) {
    this.#path = path;
    this.#blockSize = blockSize;
    this.#next = reservedEnd;
    this.#reservedEnd = reservedEnd;
  }

  /** Opens the counter kept in `path`, creating it at 0 when the file does not exist. */
  static open(path: string, blockSize = CREATION_SEQUENCE_BLOCK_DEFAULT): CreationSequence {
    assert.ok(Number.isSafeInteger(blockSize) && blockSize >= 1, `blockSize must be a positive integer, got ${blockSize}`);
    const reservedEnd = existsSync(path) ? readReservedEnd(path) : 0;
    return new CreationSequence(path, blockSize, reservedEnd);
  }

  get path(): string {
    return this.#path;
  }

  /** A sequence number never returned before by this node, durably so. */
  next(): bigint {
    assert.ok(!this.#closed, 'the creation sequence is closed');
    if (this.#next === this.#reservedEnd) {
      const reservedEnd = this.#reservedEnd + this.#blockSize;
      assert.ok(Number.isSafeInteger(reservedEnd), 'creation sequence numbers exhausted (2^53)');
      replaceDurably(this.#path, lineOf(reservedEnd));
      this.#reservedEnd = reservedEnd;
    }
    const value = this.#next;
    this.#next += 1;
    return BigInt(value);
  }

  close(): void {
    this.#closed = true;
  }
}

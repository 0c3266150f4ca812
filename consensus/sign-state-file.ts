// The sign guard's state on disk (the adapter behind SignStateStore): one short line, replaced
// atomically on every save: written to a temporary file, fsync'ed, renamed over the old file, and
// the directory fsync'ed, so a crash at any point leaves the old state or the new one, never a torn
// mix (as CometBFT's FilePV saves its LastSignState with WriteFileAtomic). The line carries a
// CRC-32; a file that does not parse or whose CRC does not match is refused with
// ORBITFED_SIGN_STATE_CORRUPT rather than read as "never signed": guessing low is how a validator
// double-signs. A missing file is "never signed" only when the caller says this is a first start.
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { OrbitfedError, replaceFileDurably } from '../common/index.ts';
import { isHex } from './binary-layout.ts';
import { isBlockId, ROUND_MAX } from './tendermint-messages.ts';
import { SIGN_STATE_EMPTY, type SignState, type SignStateStore, type SignStep } from './sign-guard.ts';

const FORMAT = 'orbitfed-sign-state/1';
/** Sign bytes are under 200 bytes and a signature 64: the line is well under this. */
const FILE_BYTES_MAX = 4096;
const STEPS: readonly SignStep[] = ['propose', 'prevote', 'precommit'];

export interface FileSignStateStoreOptions {
  /** Treat a missing file as a validator that never signed (its first start); otherwise refuse. */
  readonly createIfMissing: boolean;
}

function corrupt(path: string, message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_SIGN_STATE_CORRUPT', `${message}; refusing to guess what this validator signed (guessing low is a double sign)`, { file: path });
}

function crcHex(text: string): string {
  return (crc32(text) >>> 0).toString(16).padStart(8, '0');
}

interface StoredMessage {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: string;
  readonly signature: string;
}

interface StoredState {
  readonly signed: readonly StoredMessage[];
  readonly lock: { height: number; round: number; blockId: string } | null;
}

const isCount = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;

function fromStored(path: string, stored: StoredState): SignState {
  const lock = stored.lock;
  if (!Array.isArray(stored.signed) || stored.signed.length > 3) throw corrupt(path, 'the signed messages are malformed');
  for (const m of stored.signed) {
    if (typeof m !== 'object' || m === null || !isCount(m.height, Number.MAX_SAFE_INTEGER) || !isCount(m.round, ROUND_MAX) || !STEPS.includes(m.step)
      || typeof m.signBytes !== 'string' || !isHex(m.signBytes) || typeof m.signature !== 'string' || !isHex(m.signature)) {
      throw corrupt(path, 'a signed message is malformed');
    }
  }
  if (lock !== null && (typeof lock !== 'object' || !isCount(lock.height, Number.MAX_SAFE_INTEGER) || !isCount(lock.round, ROUND_MAX) || !isBlockId(lock.blockId))) {
    throw corrupt(path, 'the lock is malformed');
  }
  return {
    signed: stored.signed.map((m) => ({
      height: m.height, round: m.round, step: m.step,
      signBytes: new Uint8Array(Buffer.from(m.signBytes, 'hex')), signature: new Uint8Array(Buffer.from(m.signature, 'hex')),
    })),
    lock: lock === null ? null : { height: lock.height, round: lock.round, blockId: lock.blockId },
  };
}

function toStored(state: SignState): StoredState {
  return {
    signed: state.signed.map((m) => ({
      height: m.height, round: m.round, step: m.step,
      signBytes: Buffer.from(m.signBytes).toString('hex'), signature: Buffer.from(m.signature).toString('hex'),
    })),
    lock: state.lock,
  };
}

/** Reads the state file; see the header for what is refused. */
export function readSignStateFile(path: string, options: FileSignStateStoreOptions): SignState {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.byteLength > FILE_BYTES_MAX) throw corrupt(path, `the file is ${bytes.byteLength} bytes, more than the ${FILE_BYTES_MAX} of a sign-state file`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof OrbitfedError) throw error;
    if ((error as { code?: unknown }).code === 'ENOENT') {
      if (options.createIfMissing) return SIGN_STATE_EMPTY;
      throw new OrbitfedError('ORBITFED_SIGN_STATE_MISSING', 'no sign-state file; a validator that has signed before must not start without it', { file: path }, { cause: error });
    }
    throw new OrbitfedError('ORBITFED_SIGN_STATE_IO', `cannot read: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const match = /^(\S+) (\{.*\}) ([0-9a-f]{8})\n$/.exec(text);
  if (match === null || match[1] !== FORMAT) throw corrupt(path, 'not an orbitfed sign-state file');
  if (crcHex(`${match[1]} ${match[2]}`) !== match[3]) throw corrupt(path, 'the CRC-32 does not match');
  let stored: StoredState;
  try {
    stored = JSON.parse(match[2]!) as StoredState;
  } catch (error) {
    throw corrupt(path, `the state is not JSON: ${(error as Error).message}`);
  }
  if (typeof stored !== 'object' || stored === null || !('signed' in stored) || !('lock' in stored)) throw corrupt(path, 'the state lacks signed or lock');
  return fromStored(path, stored);
}

/** Replaces the file durably: temporary file, fsync, rename, fsync of the directory. */
export function writeSignStateFile(path: string, state: SignState): void {
  const body = `${FORMAT} ${JSON.stringify(toStored(state))}`;
  const line = `${body} ${crcHex(body)}\n`;
  try {
    replaceFileDurably(path, line, 0o600);
  } catch (error) {
    throw new OrbitfedError('ORBITFED_SIGN_STATE_IO', `cannot write: ${(error as Error).message}`, { file: path }, { cause: error });
  }
}

/** SignStateStore over one file. Not shared between processes: one validator process owns its key. */
export class FileSignStateStore implements SignStateStore {
  readonly #path: string;
  readonly #options: FileSignStateStoreOptions;

  constructor(path: string, options: FileSignStateStoreOptions) {
    this.#path = path;
    this.#options = options;
  }

  load(): SignState {
    return readSignStateFile(this.#path, this.#options);
  }

  save(state: SignState): void {
    writeSignStateFile(this.#path, state);
  }
}

// Key files: a node's or a validator's ed25519 seed, read from a file (never from the command line,
// ARCHITECTURE.md "Configuration"). Its own file so that a node reading its key (consensus/node.ts,
// the orbital agent) does not load the validator configuration's schema and with it TypeBox's type
// builder (orbital/README.md, "Memory and start-up").
import { OrbitfedError, readBoundedTextFile } from '../common/index.ts';
import { bytesOfHex } from './binary-layout.ts';

/** A key file holds one line; anything larger is not a key file. */
export const KEY_FILE_BYTES_MAX = 1024;

/** Reads a 32-byte ed25519 seed written as 64 hex characters (surrounding whitespace ignored). */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  const text = (await readBoundedTextFile(path, {
    what: 'key file', maxBytes: KEY_FILE_BYTES_MAX, readCode: 'ORBITFED_KEY_FILE', tooLargeCode: 'ORBITFED_KEY_FILE', invalidTextCode: 'ORBITFED_KEY_FILE',
  })).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new OrbitfedError('ORBITFED_KEY_FILE', 'a key file holds one ed25519 seed: 64 lowercase hex characters', { file: path });
  return bytesOfHex(text);
}

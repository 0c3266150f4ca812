// The libp2p peer id of a raw ed25519 public key, without loading libp2p (the orbital agent and the
// validators' configuration need ids; only a process that opens libp2p connections loads libp2p).
// An ed25519 peer id is the identity multihash (code 0x00, length 36) of the protobuf-encoded
// public key (field 1 KeyType = 1 (Ed25519): 08 01; field 2 Data, 32 bytes: 12 20 ‖ key), written
// in base58btc: the familiar "12D3KooW…" (libp2p peer-ids spec, "Peer Ids" and "Keys").
// test/dtn/libp2p-peer-id.test.ts pins it against @libp2p/peer-id.
import { OrbitfedError } from '../common/index.ts';

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const ED25519_PUBLIC_KEY_BYTES = 32;
const PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20);

/** The peer id (`12D3KooW…`) of a raw 32-byte ed25519 public key. */
export function libp2pPeerIdOf(publicKey: Uint8Array): string {
  if (publicKey.byteLength !== ED25519_PUBLIC_KEY_BYTES) {
    throw new OrbitfedError('ORBITFED_LIBP2P_KEY', `an ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${publicKey.byteLength}`);
  }
  const bytes = new Uint8Array(PREFIX.length + publicKey.length);
  bytes.set(PREFIX);
  bytes.set(publicKey, PREFIX.length);
  return base58btc(bytes);
}

/** Base58 (Bitcoin alphabet), leading zero bytes as leading '1's. */
function base58btc(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let text = '';
  while (value > 0n) {
    text = BASE58_ALPHABET[Number(value % 58n)]! + text;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    text = `1${text}`;
  }
  return text;
}

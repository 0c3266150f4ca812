// Shared pieces of the consensus tests: ed25519 keys through node:crypto (deterministic from a seed
// index), a fast stand-in signature scheme for large simulation sweeps, and a trivial key-value
// application behind the ABCI-shaped interface (the ledger replaces it in the validator).
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type {
  Application, FinalizeBlockRequest, FinalizeBlockResponse, InfoResponse, PrepareProposalRequest, PrepareProposalResponse,
  ProcessProposalRequest, ProcessProposalResponse,
} from '../../consensus/abci.ts';
import type { SimulationSignatures, SimulationWorkload } from '../../consensus/consensus-simulation.ts';
import type { Signer, VerifySignature } from '../../consensus/tendermint-messages.ts';

// RFC 8410 DER prefixes: PKCS#8 around a 32-byte ed25519 seed, SPKI around a 32-byte public key.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Key {
  readonly publicKey: Uint8Array;
  readonly signer: Signer;
}

/** A deterministic ed25519 key: the seed is SHA-256 of the label. */
export function ed25519Key(label: string): Ed25519Key {
  const seed = createHash('sha256').update(label).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length));
  return { publicKey, signer: { sign: (bytes) => new Uint8Array(sign(null, bytes, privateKey)) } };
}

const publicKeyObjects = new Map<string, KeyObject>();

/** ed25519 verification through node:crypto (OpenSSL). */
export const ed25519Verify: VerifySignature = (publicKey, bytes, signature) => {
  const hex = Buffer.from(publicKey).toString('hex');
  let key = publicKeyObjects.get(hex);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    publicKeyObjects.set(hex, key);
  }
  return signature.length === 64 && verify(null, bytes, key, signature);
};

/** n ed25519 keys for a simulation. */
export function ed25519Signatures(count: number, label = 'validator'): SimulationSignatures {
  const keys = Array.from({ length: count }, (_, i) => ed25519Key(`${label} ${i}`));
  return { publicKeys: keys.map((k) => k.publicKey), signer: (i) => keys[i]!.signer, verify: ed25519Verify };
}

/**
 * A stand-in for ed25519 in large sweeps, ~40× cheaper: a "signature" is SHA-512 of a secret and the
 * bytes, and verification looks the secret up by public key. It is unforgeable only inside the
 * simulation (the code under test never sees the secrets), which is all a simulated network needs:
 * the core still checks every signature against the signer's key, and a Byzantine validator can
 * still only sign as itself.
 */
export function fastSignatures(count: number, label = 'validator'): SimulationSignatures {
  const secrets = Array.from({ length: count }, (_, i) => createHash('sha256').update(`secret ${label} ${i}`).digest());
  const publicKeys = secrets.map((s) => new Uint8Array(createHash('sha256').update(s).digest()));
  const secretByKey = new Map(publicKeys.map((pk, i) => [Buffer.from(pk).toString('hex'), secrets[i]!]));
  const mac = (secret: Uint8Array, bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(secret).update(bytes).digest());
  return {
    publicKeys,
    signer: (i) => ({ sign: (bytes) => mac(secrets[i]!, bytes) }),
    verify: (publicKey, bytes, signature) => {
      const secret = secretByKey.get(Buffer.from(publicKey).toString('hex'));
      return secret !== undefined && Buffer.from(mac(secret, bytes)).equals(signature);
    },
  };
}

const TX_PATTERN = /^[a-z0-9]{1,16}=[a-z0-9]{0,32}$/;
const text = new TextDecoder();
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

export function isKvTx(tx: Uint8Array): boolean {
  return TX_PATTERN.test(text.decode(tx));
}

export const KV_GENESIS_APP_HASH = createHash('sha256').update('kv genesis').digest('hex');

/**
 * A key-value store: transactions are `key=value` in lowercase ASCII; anything else makes
 * ProcessProposal reject the block. The app hash is SHA-256 of the previous hash, the height and
 * the sorted state. Misbehaviour reported by FinalizeBlock is kept as a list of slashed addresses.
 */
export class KvApplication implements Application {
  #state = new Map<string, string>();
  #height = 0;
  #appHash = KV_GENESIS_APP_HASH;
  #slashed: string[] = [];
  #pending: { state: Map<string, string>; height: number; appHash: string; slashed: string[] } | null = null;
  readonly processed: string[] = [];

  info(): InfoResponse {
    return { lastBlockHeight: this.#height, lastBlockAppHash: this.#appHash };
  }

  get state(): ReadonlyMap<string, string> {
    return this.#state;
  }

  get slashed(): readonly string[] {
    return this.#slashed;
  }

  prepareProposal(request: PrepareProposalRequest): PrepareProposalResponse {
    const seen = new Set<string>();
    const txs: Uint8Array[] = [];
    let bytes = 0;
    for (const tx of request.txs) {
      const key = Buffer.from(tx).toString('hex');
      if (!isKvTx(tx) || seen.has(key) || bytes + tx.length > request.maxTxBytes) continue;
      seen.add(key);
      bytes += tx.length;
      txs.push(tx);
    }
    return { txs };
  }

  processProposal(request: ProcessProposalRequest): ProcessProposalResponse {
    this.processed.push(request.blockId);
    const bad = request.block.txs.find((tx) => !isKvTx(tx));
    return bad === undefined ? { status: 'accept' } : { status: 'reject', reason: `not a key=value transaction: ${text.decode(bad).slice(0, 40)}` };
  }

  finalizeBlock(request: FinalizeBlockRequest): FinalizeBlockResponse {
    const state = new Map(this.#state);
    const txResults = request.block.txs.map((tx) => {
      const [key, value] = text.decode(tx).split('=') as [string, string];
      state.set(key, value);
      return { code: 0, log: '' };
    });
    const height = request.block.header.height;
    const hash = createHash('sha256').update(this.#appHash).update(String(height));
    for (const [k, v] of [...state].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`${k}=${v};`);
    const slashed = [...this.#slashed, ...request.misbehavior.map((m) => m.validatorAddress)];
    for (const address of slashed) hash.update(`slashed ${address};`);
    const appHash = hash.digest('hex');
    this.#pending = { state, height, appHash, slashed };
    return { txResults, appHash };
  }

  commit(): { retainHeight: number } {
    const pending = this.#pending;
    if (pending === null) throw new Error('commit without finalizeBlock');
    this.#state = pending.state;
    this.#height = pending.height;
    this.#appHash = pending.appHash;
    this.#slashed = pending.slashed;
    this.#pending = null;
    return { retainHeight: 0 };
  }
}

export const kvWorkload: SimulationWorkload = {
  makeTx: (sequence) => encode(`k${sequence % 64}=v${sequence}`),
  makeInvalidTx: () => encode('!not a transaction'),
};

export function kvTx(text: string): Uint8Array {
  return encode(text);
}

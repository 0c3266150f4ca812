// The genesis document every validator of a chain shares (CometBFT's genesis.json): chain id,
// genesis time, the validator set (public keys, voting power, and the ledger node each validator
// belongs to, for slashing), optional ledger parameters, and the genesis transactions (currencies,
// accounts, mints, node registrations with their proofs of possession) as the ledger's canonical
// bytes in hex. The ledger's InitChain is one block of those transactions at the genesis time; each
// must apply, or the document is refused. Its SHA-256 is printed by the validator at start so that
// operators can compare documents.
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { OrbitfedError } from '../common/index.ts';
import { bytesOfHex, hexOf, isHex } from './binary-layout.ts';
import { checkPublicKeyForRegistration } from './ed25519.ts';
import { Ledger } from './ledger.ts';
import { defaultLedgerParams, validateLedgerParams, type LedgerParams } from './ledger-params.ts';
import { decodeTransaction, encodeTransaction, type LedgerTransaction } from './ledger-transactions.ts';
import { isChainId } from './tendermint-messages.ts';
import { validatorAddress, validatorSet, type ValidatorSet } from './validator-set.ts';

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, lowercase hex' });

export const GenesisSchema = Type.Object({
  chainId: Type.String({ minLength: 1, maxLength: 50, description: 'lowercase letters, digits, dots and dashes' }),
  genesisTimeMs: Type.Integer({ minimum: 0, description: 'Unix ms; the first block is after it' }),
  validators: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 64 }),
    publicKey: Hex32,
    votingPower: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'ledger node id to slash for committed evidence' })),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 100 }),
  feeBasisPoints: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  receiptGraceMs: Type.Optional(Type.Integer({ minimum: 0 })),
  transactions: Type.Array(Type.String({ maxLength: 2 * 64 * 1024, description: 'a ledger transaction, canonical bytes in hex' }), { maxItems: 100_000 }),
}, { additionalProperties: false });

export type Genesis = Static<typeof GenesisSchema>;

/** A genesis document, checked, with what the validators derive from it. */
export interface ChainGenesis {
  readonly genesis: Genesis;
  readonly validators: ValidatorSet;
  /** Validator address of each name in the document. */
  readonly addressOfName: ReadonlyMap<string, string>;
  readonly nodeOfValidator: ReadonlyMap<string, string>;
  readonly params: LedgerParams;
  readonly transactions: readonly LedgerTransaction[];
  /** SHA-256 of the document's canonical JSON, lowercase hex. */
  readonly documentHash: string;
}

function refuse(message: string, field: string): never {
  throw new OrbitfedError('ORBITFED_GENESIS_INVALID', message, { field });
}

/** Checks a parsed genesis document; errors name the field. */
export function checkGenesis(document: unknown): ChainGenesis {
  if (!Value.Check(GenesisSchema, document)) {
    const first = [...Value.Errors(GenesisSchema, document)][0];
    refuse(`genesis: ${first?.message ?? 'does not match the schema'}`, first?.path || '/');
  }
  const genesis = document;
  if (!isChainId(genesis.chainId)) refuse('chain id must be 1–50 lowercase letters, digits, dots or dashes', 'chainId');
  const names = new Set<string>();
  const addressOfName = new Map<string, string>();
  const nodeOfValidator = new Map<string, string>();
  const infos = genesis.validators.map((v, i) => {
    if (names.has(v.name)) refuse(`validator name ${v.name} appears twice`, `validators[${i}].name`);
    names.add(v.name);
    const publicKey = bytesOfHex(v.publicKey);
    const check = checkPublicKeyForRegistration(publicKey);
    if (!check.ok) refuse(`validator ${v.name}: public key refused (${check.reason})`, `validators[${i}].publicKey`);
    const address = validatorAddress(publicKey);
    addressOfName.set(v.name, address);
    if (v.nodeId !== undefined) nodeOfValidator.set(address, v.nodeId);
    return { address, publicKey, votingPower: v.votingPower };
  });
  const validators = validatorSet(infos);
  const params: LedgerParams = {
    ...defaultLedgerParams(genesis.chainId),
    ...(genesis.feeBasisPoints !== undefined ? { feeBasisPoints: genesis.feeBasisPoints } : {}),
    ...(genesis.receiptGraceMs !== undefined ? { receiptGraceMs: genesis.receiptGraceMs } : {}),
  };
  validateLedgerParams(params);
  const transactions = genesis.transactions.map((hex, i) => {
    if (!isHex(hex)) refuse('a transaction is lowercase hex', `transactions[${i}]`);
    try {
      return decodeTransaction(bytesOfHex(hex));
    } catch (error) {
      if (error instanceof OrbitfedError) refuse(`transaction ${i}: ${error.message}`, `transactions[${i}]`);
      throw error;
    }
  });
  const documentHash = createHash('sha256').update(JSON.stringify(genesis)).digest('hex');
  const chain: ChainGenesis = { genesis, validators, addressOfName, nodeOfValidator, params, transactions, documentHash };
  genesisLedger(chain);
  return chain;
}

/** The ledger after InitChain: the genesis transactions in one block at the genesis time, all applied. */
export function genesisLedger(chain: ChainGenesis): Ledger {
  const ledger = Ledger.genesis(chain.params);
  const result = ledger.applyBlock(chain.transactions, chain.genesis.genesisTimeMs);
  result.results.forEach((r, i) => {
    if (r.status === 'rejected') refuse(`genesis transaction ${i} (${chain.transactions[i]!.kind}) does not apply: ${r.code} ${r.detail}`, `transactions[${i}]`);
  });
  return ledger;
}

/** Hex of a transaction for a genesis document. */
export function genesisTransactionHex(tx: LedgerTransaction): string {
  return hexOf(encodeTransaction(tx));
}

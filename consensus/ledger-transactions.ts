// The ledger's transactions as plain readonly data, their results, and their canonical bytes (what
// a block carries). A transaction either applies completely or not at all; a refusal is a result
// with a stable code, never an exception (STYLE rule 7: expected per-item failures are results).
//
// Authorization: payloads that carry their own proof are checked by the ledger (receipts, node
// registration and key rotation/revocation signatures). Who may submit account operations (a
// tenant's transfer, the scheduler's escrow and SLA reports) is decided where transactions are
// admitted (the validator's mempool), before they reach this state machine.
import { OrbitfedError } from '../common/index.ts';
import { encodeCbor, type CborReader, type CborValue } from '../dtn/index.ts';
import { decodeCanonical, type CanonicalFormat } from './canonical-bytes.ts';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.ts';
import { checkAmountMinor, checkCount, checkCurrency, checkId } from './identifiers.ts';
import { decodeSignedReceipt, encodeSignedReceipt, KEY_EPOCH_MAX, RECEIPT_BYTES_MAX, validateReceipt, type SignedReceipt } from './receipt.ts';

export type AccountKind = 'tenant' | 'provider' | 'fee' | 'stake' | 'escrow';
export const ACCOUNT_KINDS: readonly AccountKind[] = ['tenant', 'provider', 'fee', 'stake', 'escrow'];

/** Opens an account. Fee and escrow accounts are the ledger's own: one of each per currency. */
export interface OpenAccountTx {
  readonly kind: 'open-account';
  readonly accountId: string;
  readonly accountKind: AccountKind;
  readonly currency: string;
  /** The tenant, node or operator the account belongs to. */
  readonly ownerId: string;
}

/** Creates money in an account (genesis and tests): the only way the supply of a currency grows. */
export interface MintTx {
  readonly kind: 'mint';
  readonly transferId: string;
  readonly accountId: string;
  readonly amountMinor: bigint;
}

export interface TransferTx {
  readonly kind: 'transfer';
  readonly transferId: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amountMinor: bigint;
}

/**
 * The pending phase of a two-phase transfer from a tenant to a provider for one job: the amount
 * moves from the tenant into the currency's escrow account until it is posted (by a settled
 * receipt or `escrow-post`), voided, or expires at `deadlineMs` (consensus time).
 */
export interface EscrowOpenTx {
  readonly kind: 'escrow-open';
  readonly escrowId: string;
  readonly jobId: string;
  readonly tenantAccountId: string;
  readonly providerAccountId: string;
  readonly amountMinor: bigint;
  readonly deadlineMs: number;
}

/** Posts part or all of a pending escrow to its provider (less the protocol fee); the rest goes back to the tenant. */
export interface EscrowPostTx {
  readonly kind: 'escrow-post';
  readonly escrowId: string;
  readonly amountMinor: bigint;
}

/** Returns a pending escrow to its tenant. */
export interface EscrowVoidTx {
  readonly kind: 'escrow-void';
  readonly escrowId: string;
}

/** Settles a signed usage receipt against its job's escrow. */
export interface SettleReceiptTx {
  readonly kind: 'settle-receipt';
  readonly receipt: SignedReceipt;
}

/** Registers a node (orbital, ground, validator) with its first key (epoch 0). */
export interface RegisterNodeTx {
  readonly kind: 'register-node';
  readonly nodeId: string;
  readonly publicKey: Uint8Array;
  /** The new key's signature over the registration (proof of possession: nobody registers a key they do not hold). */
  readonly possessionSignature: Uint8Array;
}

/** Replaces a node's active key by the next epoch's. */
export interface RotateKeyTx {
  readonly kind: 'rotate-key';
  readonly nodeId: string;
  readonly newEpoch: number;
  readonly newPublicKey: Uint8Array;
  /** By the active key: the node asks for the rotation. */
  readonly currentKeySignature: Uint8Array;
  /** By the new key: proof of possession. */
  readonly newKeySignature: Uint8Array;
}

/** Revokes one of a node's keys: receipts under it never settle again. */
export interface RevokeKeyTx {
  readonly kind: 'revoke-key';
  readonly nodeId: string;
  readonly epoch: number;
  /** The epoch of the key that signs: the node's active key, or the revoked key itself. */
  readonly signerEpoch: number;
  readonly signature: Uint8Array;
}

/** The scheduler reports that a node missed a job's deadline. */
export interface SlaViolationTx {
  readonly kind: 'sla-violation';
  readonly reportId: string;
  readonly jobId: string;
  readonly nodeId: string;
}

/**
 * Committed evidence that a validator signed two conflicting votes at a height (ABCI 2.0's
 * `Misbehavior` of type DUPLICATE_VOTE in FinalizeBlock): the consensus layer verified it before
 * committing it; the ledger slashes once per (node, height).
 */
export interface DoubleSignTx {
  readonly kind: 'double-sign';
  readonly nodeId: string;
  readonly height: number;
  /** SHA-256 of the evidence as the consensus layer committed it. */
  readonly evidenceHash: Uint8Array;
}

export type LedgerTransaction =
  | OpenAccountTx | MintTx | TransferTx | EscrowOpenTx | EscrowPostTx | EscrowVoidTx | SettleReceiptTx
  | RegisterNodeTx | RotateKeyTx | RevokeKeyTx | SlaViolationTx | DoubleSignTx;

/** One movement of money: debits one account, credits another, by the same amount. */
export interface Movement {
  /** A client's id, or "<escrow, report or offense id>/<what>" for movements the ledger generates. */
  readonly transferId: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
}

/** Why a transaction was refused; each code means one thing (consensus/README.md lists them). */
export type LedgerRejectionCode =
  | 'ORBITFED_LEDGER_MALFORMED' | 'ORBITFED_LEDGER_ID_CONFLICT' | 'ORBITFED_LEDGER_LIMIT'
  | 'ORBITFED_LEDGER_UNKNOWN_ACCOUNT' | 'ORBITFED_LEDGER_ACCOUNT_KIND' | 'ORBITFED_LEDGER_CURRENCY_MISMATCH'
  | 'ORBITFED_LEDGER_INSUFFICIENT_FUNDS' | 'ORBITFED_LEDGER_SUPPLY_LIMIT'
  | 'ORBITFED_LEDGER_SYSTEM_ACCOUNT_MISSING' | 'ORBITFED_LEDGER_SYSTEM_ACCOUNT_EXISTS'
  | 'ORBITFED_LEDGER_UNKNOWN_ESCROW' | 'ORBITFED_LEDGER_ESCROW_RESOLVED' | 'ORBITFED_LEDGER_ESCROW_EXCEEDED'
  | 'ORBITFED_LEDGER_DEADLINE_PASSED' | 'ORBITFED_LEDGER_JOB_HAS_ESCROW' | 'ORBITFED_LEDGER_UNKNOWN_JOB'
  | 'ORBITFED_LEDGER_UNKNOWN_NODE' | 'ORBITFED_LEDGER_WRONG_NODE'
  | 'ORBITFED_LEDGER_PUBLIC_KEY_REFUSED' | 'ORBITFED_LEDGER_PUBLIC_KEY_IN_USE' | 'ORBITFED_LEDGER_BAD_SIGNATURE'
  | 'ORBITFED_LEDGER_KEY_EPOCH' | 'ORBITFED_LEDGER_KEY_REVOKED'
  | 'ORBITFED_LEDGER_ALREADY_REPORTED' | 'ORBITFED_LEDGER_OFFENSE_CONFLICT'
  | 'ORBITFED_RECEIPT_WRONG_CHAIN' | 'ORBITFED_RECEIPT_INVALID_VALIDITY_WINDOW' | 'ORBITFED_RECEIPT_CREATED_IN_FUTURE'
  | 'ORBITFED_RECEIPT_EXPIRED' | 'ORBITFED_RECEIPT_UNKNOWN_NODE' | 'ORBITFED_RECEIPT_UNKNOWN_KEY_EPOCH'
  | 'ORBITFED_RECEIPT_KEY_REVOKED' | 'ORBITFED_RECEIPT_KEY_RETIRED' | 'ORBITFED_RECEIPT_BAD_SIGNATURE'
  | 'ORBITFED_RECEIPT_SEQUENCE_REUSED';

export type TransactionResult =
  /** Applied; the money it moved, in order (empty for transactions that move none). */
  | { readonly status: 'applied'; readonly movements: readonly Movement[] }
  /** Already applied with the same content (idempotent resubmission): nothing changed. */
  | { readonly status: 'no-op' }
  | { readonly status: 'rejected'; readonly code: LedgerRejectionCode; readonly detail: string };

const MALFORMED = 'ORBITFED_LEDGER_MALFORMED';

function checkPositiveAmount(value: bigint, field: string): void {
  checkAmountMinor(value, field, MALFORMED);
  if (value === 0n) throw new OrbitfedError(MALFORMED, 'an amount must be positive', { field });
}

function checkBytes(value: Uint8Array, length: number, field: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) throw new OrbitfedError(MALFORMED, `expected ${length} bytes`, { field });
}

/** Field formats and ranges; throws OrbitfedError ORBITFED_LEDGER_MALFORMED naming the field. */
export function validateTransaction(tx: LedgerTransaction): void {
  switch (tx.kind) {
    case 'open-account':
      checkId(tx.accountId, 'accountId', MALFORMED);
      if (!ACCOUNT_KINDS.includes(tx.accountKind)) throw new OrbitfedError(MALFORMED, `unknown account kind ${JSON.stringify(tx.accountKind)}`, { field: 'accountKind' });
      checkCurrency(tx.currency, 'currency', MALFORMED);
      checkId(tx.ownerId, 'ownerId', MALFORMED);
      return;
    case 'mint':
      checkId(tx.transferId, 'transferId', MALFORMED);
      checkId(tx.accountId, 'accountId', MALFORMED);
      checkPositiveAmount(tx.amountMinor, 'amountMinor');
      return;
    case 'transfer':
      checkId(tx.transferId, 'transferId', MALFORMED);
      checkId(tx.debitAccountId, 'debitAccountId', MALFORMED);
      checkId(tx.creditAccountId, 'creditAccountId', MALFORMED);
      if (tx.debitAccountId === tx.creditAccountId) throw new OrbitfedError(MALFORMED, 'a transfer debits one account and credits another', { field: 'creditAccountId' });
      checkPositiveAmount(tx.amountMinor, 'amountMinor');
      return;
    case 'escrow-open':
      checkId(tx.escrowId, 'escrowId', MALFORMED);
      checkId(tx.jobId, 'jobId', MALFORMED);
      checkId(tx.tenantAccountId, 'tenantAccountId', MALFORMED);
      checkId(tx.providerAccountId, 'providerAccountId', MALFORMED);
      checkPositiveAmount(tx.amountMinor, 'amountMinor');
      checkCount(tx.deadlineMs, Number.MAX_SAFE_INTEGER, 'deadlineMs', MALFORMED);
      return;
    case 'escrow-post':
      checkId(tx.escrowId, 'escrowId', MALFORMED);
      checkPositiveAmount(tx.amountMinor, 'amountMinor');
      return;
    case 'escrow-void':
      checkId(tx.escrowId, 'escrowId', MALFORMED);
      return;
    case 'settle-receipt':
      try {
        validateReceipt(tx.receipt.receipt);
      } catch (error) {
        throw new OrbitfedError(MALFORMED, (error as Error).message, { field: `receipt.${(error as OrbitfedError).location?.field ?? ''}` });
      }
      checkBytes(tx.receipt.signature, ED25519_SIGNATURE_BYTES, 'receipt.signature');
      return;
    case 'register-node':
      checkId(tx.nodeId, 'nodeId', MALFORMED);
      checkBytes(tx.publicKey, ED25519_PUBLIC_KEY_BYTES, 'publicKey');
      checkBytes(tx.possessionSignature, ED25519_SIGNATURE_BYTES, 'possessionSignature');
      return;
    case 'rotate-key':
      checkId(tx.nodeId, 'nodeId', MALFORMED);
      checkCount(tx.newEpoch, KEY_EPOCH_MAX, 'newEpoch', MALFORMED);
      checkBytes(tx.newPublicKey, ED25519_PUBLIC_KEY_BYTES, 'newPublicKey');
      checkBytes(tx.currentKeySignature, ED25519_SIGNATURE_BYTES, 'currentKeySignature');
      checkBytes(tx.newKeySignature, ED25519_SIGNATURE_BYTES, 'newKeySignature');
      return;
    case 'revoke-key':
      checkId(tx.nodeId, 'nodeId', MALFORMED);
      checkCount(tx.epoch, KEY_EPOCH_MAX, 'epoch', MALFORMED);
      checkCount(tx.signerEpoch, KEY_EPOCH_MAX, 'signerEpoch', MALFORMED);
      checkBytes(tx.signature, ED25519_SIGNATURE_BYTES, 'signature');
      return;
    case 'sla-violation':
      checkId(tx.reportId, 'reportId', MALFORMED);
      checkId(tx.jobId, 'jobId', MALFORMED);
      checkId(tx.nodeId, 'nodeId', MALFORMED);
      return;
    case 'double-sign':
      checkId(tx.nodeId, 'nodeId', MALFORMED);
      checkCount(tx.height, Number.MAX_SAFE_INTEGER, 'height', MALFORMED);
      checkBytes(tx.evidenceHash, 32, 'evidenceHash');
      return;
    default:
      throw new OrbitfedError(MALFORMED, `unknown transaction kind ${JSON.stringify((tx as { kind: unknown }).kind)}`, { field: 'kind' });
  }
}

function fieldsOf(tx: LedgerTransaction): CborValue[] {
  switch (tx.kind) {
    case 'open-account': return [tx.accountId, tx.accountKind, tx.currency, tx.ownerId];
    case 'mint': return [tx.transferId, tx.accountId, tx.amountMinor];
    case 'transfer': return [tx.transferId, tx.debitAccountId, tx.creditAccountId, tx.amountMinor];
    case 'escrow-open': return [tx.escrowId, tx.jobId, tx.tenantAccountId, tx.providerAccountId, tx.amountMinor, tx.deadlineMs];
    case 'escrow-post': return [tx.escrowId, tx.amountMinor];
    case 'escrow-void': return [tx.escrowId];
    case 'settle-receipt': return [encodeSignedReceipt(tx.receipt)];
    case 'register-node': return [tx.nodeId, tx.publicKey, tx.possessionSignature];
    case 'rotate-key': return [tx.nodeId, tx.newEpoch, tx.newPublicKey, tx.currentKeySignature, tx.newKeySignature];
    case 'revoke-key': return [tx.nodeId, tx.epoch, tx.signerEpoch, tx.signature];
    case 'sla-violation': return [tx.reportId, tx.jobId, tx.nodeId];
    case 'double-sign': return [tx.nodeId, tx.height, tx.evidenceHash];
  }
}

/** Canonical bytes of a transaction: CBOR [kind, …fields in declaration order]. */
export function encodeTransaction(tx: LedgerTransaction): Uint8Array {
  validateTransaction(tx);
  return encodeCbor([tx.kind, ...fieldsOf(tx)]);
}

/** Transactions are small; a receipt is the largest field. */
export const TRANSACTION_BYTES_MAX = RECEIPT_BYTES_MAX + 512;
const TEXT_MAX = 64;

const TRANSACTION_FORMAT: CanonicalFormat = {
  what: 'ledger transaction',
  bytesMax: TRANSACTION_BYTES_MAX,
  codes: {
    tooLarge: 'ORBITFED_TX_TOO_LARGE',
    truncated: 'ORBITFED_TX_TRUNCATED',
    malformed: 'ORBITFED_TX_MALFORMED',
    invalid: 'ORBITFED_TX_INVALID',
    trailing: 'ORBITFED_TX_TRAILING_BYTES',
  },
};

function readTransaction(reader: CborReader): LedgerTransaction {
  const count = reader.readArrayHeader('transaction');
  const kind = reader.readText('kind', 32);
  const text = (field: string): string => reader.readText(field, TEXT_MAX);
  const expect = (items: number): void => {
    if (count !== items + 1) reader.fail('invalid', 'transaction', `a ${kind} transaction has ${items + 1} items, this one ${count}`);
  };
  let tx: LedgerTransaction;
  switch (kind) {
    case 'open-account':
      expect(4);
      tx = { kind, accountId: text('accountId'), accountKind: text('accountKind') as AccountKind, currency: text('currency'), ownerId: text('ownerId') };
      break;
    case 'mint':
      expect(3);
      tx = { kind, transferId: text('transferId'), accountId: text('accountId'), amountMinor: reader.readBigUint('amountMinor') };
      break;
    case 'transfer':
      expect(4);
      tx = { kind, transferId: text('transferId'), debitAccountId: text('debitAccountId'), creditAccountId: text('creditAccountId'), amountMinor: reader.readBigUint('amountMinor') };
      break;
    case 'escrow-open':
      expect(6);
      tx = {
        kind, escrowId: text('escrowId'), jobId: text('jobId'), tenantAccountId: text('tenantAccountId'), providerAccountId: text('providerAccountId'),
        amountMinor: reader.readBigUint('amountMinor'), deadlineMs: reader.readUint('deadlineMs'),
      };
      break;
    case 'escrow-post':
      expect(2);
      tx = { kind, escrowId: text('escrowId'), amountMinor: reader.readBigUint('amountMinor') };
      break;
    case 'escrow-void':
      expect(1);
      tx = { kind, escrowId: text('escrowId') };
      break;
    case 'settle-receipt':
      expect(1);
      tx = { kind, receipt: decodeSignedReceipt(reader.readBytes('receipt', RECEIPT_BYTES_MAX)) };
      break;
    case 'register-node':
      expect(3);
      tx = { kind, nodeId: text('nodeId'), publicKey: reader.readBytes('publicKey', 32), possessionSignature: reader.readBytes('possessionSignature', 64) };
      break;
    case 'rotate-key':
      expect(5);
      tx = {
        kind, nodeId: text('nodeId'), newEpoch: reader.readUint('newEpoch', KEY_EPOCH_MAX), newPublicKey: reader.readBytes('newPublicKey', 32),
        currentKeySignature: reader.readBytes('currentKeySignature', 64), newKeySignature: reader.readBytes('newKeySignature', 64),
      };
      break;
    case 'revoke-key':
      expect(4);
      tx = { kind, nodeId: text('nodeId'), epoch: reader.readUint('epoch', KEY_EPOCH_MAX), signerEpoch: reader.readUint('signerEpoch', KEY_EPOCH_MAX), signature: reader.readBytes('signature', 64) };
      break;
    case 'sla-violation':
      expect(3);
      tx = { kind, reportId: text('reportId'), jobId: text('jobId'), nodeId: text('nodeId') };
      break;
    case 'double-sign':
      expect(3);
      tx = { kind, nodeId: text('nodeId'), height: reader.readUint('height'), evidenceHash: reader.readBytes('evidenceHash', 32) };
      break;
    default:
      return reader.fail('invalid', 'kind', `unknown transaction kind ${JSON.stringify(kind)}`);
  }
  try {
    validateTransaction(tx);
  } catch (error) {
    const e = error as OrbitfedError;
    throw new OrbitfedError('ORBITFED_TX_INVALID', e.message, e.location);
  }
  return tx;
}

/**
 * Strict decoding of a transaction's bytes. Throws OrbitfedError: ORBITFED_TX_TOO_LARGE,
 * _TRUNCATED, _MALFORMED, _INVALID, _TRAILING_BYTES, or a receipt's ORBITFED_RECEIPT_* for the
 * receipt inside a settle-receipt transaction.
 */
export function decodeTransaction(bytes: Uint8Array): LedgerTransaction {
  // No re-encoding: readTransaction reads every item strictly and checks the item count (see decodeCanonical).
  return decodeCanonical(bytes, TRANSACTION_FORMAT, readTransaction);
}

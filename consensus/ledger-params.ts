// The ledger's consensus parameters: every validator must run with the same ones (they are part of
// the state hash), so they live in the state, are set at genesis, and travel in snapshots.
import { OrbitfedError } from '../common/index.ts';
import type { CborReader, CborValue } from '../dtn/index.ts';
import { checkChainId } from './canonical-bytes.ts';
import { RECEIPT_VALIDITY_MS_MAX } from './receipt.ts';
import {
  BASIS_POINTS_MAX, DOUBLE_SIGN_SLASH_BASIS_POINTS_DEFAULT, FEE_BASIS_POINTS_DEFAULT, SLA_SLASH_BASIS_POINTS_DEFAULT,
} from './settlement-math.ts';

/** How many of each thing the ledger holds at most; at a bound the transaction that needs one more is rejected (ORBITFED_LEDGER_LIMIT). */
export interface LedgerLimits {
  readonly accountsMax: number;
  /** Mint and transfer ids remembered for idempotency (kept forever, like TigerBeetle's). */
  readonly transferIdsMax: number;
  /** Escrows ever opened (pending and resolved: a resolved one is remembered so a resubmission is a no-op). */
  readonly escrowsMax: number;
  /** Escrows pending at once. */
  readonly pendingEscrowsMax: number;
  readonly nodesMax: number;
  /** Key epochs per node (registration plus rotations). */
  readonly keysPerNodeMax: number;
  /** Settled receipts remembered for deduplication (each until its not-after + grace has passed). */
  readonly settledReceiptsMax: number;
  /** Double-sign offenses and SLA reports remembered (forever). */
  readonly offensesMax: number;
  readonly slaReportsMax: number;
  /** Transactions in one block; `applyBlock` throws beyond it (the proposer must not build such a block). */
  readonly transactionsPerBlockMax: number;
}

export interface LedgerParams {
  readonly chainId: string;
  /** Protocol fee on every settled amount, in basis points (400 = 4 %). */
  readonly feeBasisPoints: number;
  /** A receipt committed up to this long after its not-after still settles. */
  readonly receiptGraceMs: number;
  /** A receipt created up to this long after the block time is accepted (node clocks run fast). */
  readonly receiptClockSkewMsMax: number;
  /** Longest validity window (not-after − created-at) a receipt may claim. */
  readonly receiptValidityMsMax: number;
  readonly doubleSignSlashBasisPoints: number;
  readonly slaSlashBasisPoints: number;
  readonly limits: LedgerLimits;
}

export const LEDGER_LIMITS_DEFAULT: LedgerLimits = {
  accountsMax: 1_000_000,
  transferIdsMax: 20_000_000,
  escrowsMax: 20_000_000,
  pendingEscrowsMax: 1_000_000,
  nodesMax: 100_000,
  keysPerNodeMax: 64,
  settledReceiptsMax: 20_000_000,
  offensesMax: 1_000_000,
  slaReportsMax: 10_000_000,
  transactionsPerBlockMax: 100_000,
};

/** 10 minutes: covers the time from mempool to commit and a node clock's error, not network delay (that is what not-after is for). */
export const RECEIPT_GRACE_MS_DEFAULT = 10 * 60_000;
export const RECEIPT_CLOCK_SKEW_MS_MAX_DEFAULT = 5 * 60_000;

export function defaultLedgerParams(chainId: string): LedgerParams {
  return {
    chainId,
    feeBasisPoints: FEE_BASIS_POINTS_DEFAULT,
    receiptGraceMs: RECEIPT_GRACE_MS_DEFAULT,
    receiptClockSkewMsMax: RECEIPT_CLOCK_SKEW_MS_MAX_DEFAULT,
    receiptValidityMsMax: RECEIPT_VALIDITY_MS_MAX,
    doubleSignSlashBasisPoints: DOUBLE_SIGN_SLASH_BASIS_POINTS_DEFAULT,
    slaSlashBasisPoints: SLA_SLASH_BASIS_POINTS_DEFAULT,
    limits: LEDGER_LIMITS_DEFAULT,
  };
}

const LIMIT_FIELDS = [
  'accountsMax', 'transferIdsMax', 'escrowsMax', 'pendingEscrowsMax', 'nodesMax', 'keysPerNodeMax',
  'settledReceiptsMax', 'offensesMax', 'slaReportsMax', 'transactionsPerBlockMax',
] as const satisfies readonly (keyof LedgerLimits)[];

const DAY_MS = 86_400_000;

export function validateLedgerParams(params: LedgerParams): void {
  const fail = (field: string, message: string): never => {
    throw new OrbitfedError('ORBITFED_LEDGER_PARAMS', message, { field });
  };
  checkChainId(params.chainId);
  const inRange = (field: string, value: number, max: number): void => {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) fail(field, `${value} is not an integer in 0 … ${max}`);
  };
  inRange('feeBasisPoints', params.feeBasisPoints, BASIS_POINTS_MAX);
  inRange('doubleSignSlashBasisPoints', params.doubleSignSlashBasisPoints, BASIS_POINTS_MAX);
  inRange('slaSlashBasisPoints', params.slaSlashBasisPoints, BASIS_POINTS_MAX);
  inRange('receiptGraceMs', params.receiptGraceMs, DAY_MS);
  inRange('receiptClockSkewMsMax', params.receiptClockSkewMsMax, DAY_MS);
  inRange('receiptValidityMsMax', params.receiptValidityMsMax, RECEIPT_VALIDITY_MS_MAX);
  if (params.receiptValidityMsMax === 0) fail('receiptValidityMsMax', 'must be positive');
  for (const field of LIMIT_FIELDS) {
    const value = params.limits[field];
    if (!Number.isSafeInteger(value) || value < 1 || value > 1_000_000_000) fail(`limits.${field}`, `${value} is not an integer in 1 … 10^9`);
  }
}

export function encodeLedgerParams(params: LedgerParams): CborValue[] {
  return [
    params.chainId, params.feeBasisPoints, params.receiptGraceMs, params.receiptClockSkewMsMax, params.receiptValidityMsMax,
    params.doubleSignSlashBasisPoints, params.slaSlashBasisPoints, LIMIT_FIELDS.map((field) => params.limits[field]),
  ];
}

export function readLedgerParams(reader: CborReader): LedgerParams {
  if (reader.readArrayHeader('params') !== 8) reader.fail('invalid', 'params', 'parameters have 8 items');
  const chainId = reader.readText('params.chainId', 64);
  const feeBasisPoints = reader.readUint('params.feeBasisPoints');
  const receiptGraceMs = reader.readUint('params.receiptGraceMs');
  const receiptClockSkewMsMax = reader.readUint('params.receiptClockSkewMsMax');
  const receiptValidityMsMax = reader.readUint('params.receiptValidityMsMax');
  const doubleSignSlashBasisPoints = reader.readUint('params.doubleSignSlashBasisPoints');
  const slaSlashBasisPoints = reader.readUint('params.slaSlashBasisPoints');
  if (reader.readArrayHeader('params.limits') !== LIMIT_FIELDS.length) reader.fail('invalid', 'params.limits', `limits have ${LIMIT_FIELDS.length} items`);
  const limits = Object.fromEntries(LIMIT_FIELDS.map((field) => [field, reader.readUint(`params.limits.${field}`)])) as unknown as LedgerLimits;
  const params: LedgerParams = {
    chainId, feeBasisPoints, receiptGraceMs, receiptClockSkewMsMax, receiptValidityMsMax, doubleSignSlashBasisPoints, slaSlashBasisPoints, limits,
  };
  validateLedgerParams(params);
  return params;
}

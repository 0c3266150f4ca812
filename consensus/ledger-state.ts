// The ledger's state: plain immutable records in digested tables (consensus/state-digest.ts), the
// block height and time, the parameters, and the state hash over all of it. The transaction
// handlers (ledger-accounts.ts, ledger-transfers.ts, ledger-nodes.ts, ledger-receipts.ts) read and
// write it; `Ledger` (ledger.ts) drives blocks.
//
// State hash = SHA-256 of CBOR ["orbitfed/ledger-state/v1", params, height, lastBlockTimeMs,
// [[table name, entry count, digest (32 bytes)] for each table in a fixed order]].
import assert from 'node:assert/strict';
import { encodeCbor, type CborValue } from '../dtn/index.ts';
import { sha256 } from './canonical-bytes.ts';
import { encodeLedgerParams, validateLedgerParams, type LedgerParams } from './ledger-params.ts';
import type { AccountKind, LedgerRejectionCode, Movement, TransactionResult } from './ledger-transactions.ts';
import { DigestedTable } from './state-digest.ts';

export interface Account {
  readonly id: string;
  readonly kind: AccountKind;
  readonly currency: string;
  readonly ownerId: string;
  /** Never negative: no account may be overdrawn. */
  readonly balanceMinor: bigint;
}

/** Money of one currency in existence: what was minted. Σ balances of the currency equals it, always. */
export interface Supply {
  readonly currency: string;
  readonly supplyMinor: bigint;
}

/** A client-chosen mint or transfer id and the hash of the transaction that used it (idempotency). */
export interface TransferRecord {
  readonly id: string;
  readonly contentHash: Uint8Array;
}

export type EscrowStatus = 'pending' | 'posted' | 'voided' | 'expired';
export const ESCROW_STATUSES: readonly EscrowStatus[] = ['pending', 'posted', 'voided', 'expired'];

export interface Escrow {
  readonly id: string;
  readonly jobId: string;
  readonly tenantAccountId: string;
  readonly providerAccountId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly deadlineMs: number;
  readonly openedAtMs: number;
  /** Hash of the escrow-open transaction, so a resubmission is recognised (no-op) for ever. */
  readonly contentHash: Uint8Array;
  readonly status: EscrowStatus;
  /** Posted amount (fee included) once posted; 0 otherwise. */
  readonly postedMinor: bigint;
  /** Protocol fee taken from the posted amount. */
  readonly feeMinor: bigint;
  /** Block time of the post, void or expiry; 0 while pending. */
  readonly resolvedAtMs: number;
  /** The receipt that settled it ("node#sequence"), or "" if none did. */
  readonly settledBy: string;
  /** The SLA report filed against the job, or "". */
  readonly slaReportId: string;
}

export interface KeyRecord {
  readonly epoch: number;
  readonly publicKey: Uint8Array;
  readonly activatedAtMs: number;
  /** When the next epoch's key replaced it (receipts created since are refused). */
  readonly retiredAtMs?: number;
  /** When it was revoked (receipts under it are refused whenever made). */
  readonly revokedAtMs?: number;
}

export interface NodeRecord {
  readonly id: string;
  readonly registeredAtMs: number;
  /** 0 … 1,000,000 (consensus/settlement-math.ts). */
  readonly reputationPpm: number;
  /** Epoch i at index i; the last one is the active key unless retired or revoked. */
  readonly keys: readonly KeyRecord[];
}

/** Which node and epoch a public key belongs to: a key is registered once, ever. */
export interface PublicKeyOwner {
  readonly nodeId: string;
  readonly epoch: number;
}

/** A settled receipt, remembered until its not-after + grace has passed (after that it could only be "expired"). */
export interface SettledReceipt {
  /** "node#sequence". */
  readonly key: string;
  /** SHA-256 of the receipt's signing bytes: the same key with other content is a reused sequence. */
  readonly contentHash: Uint8Array;
  readonly notAfterMs: number;
}

/** A double-sign offense already slashed: "node@height". */
export interface Offense {
  readonly key: string;
  readonly evidenceHash: Uint8Array;
  readonly slashedAtMs: number;
}

export interface SlaReport {
  readonly id: string;
  readonly jobId: string;
  readonly nodeId: string;
  readonly reportedAtMs: number;
}

const optional = (value: number | undefined): CborValue[] => (value === undefined ? [] : [value]);

/** Each table's value as a CBOR array; the order of fields is part of the state hash and the snapshot format. */
export const ENCODERS = {
  account: (a: Account): CborValue[] => [a.kind, a.currency, a.ownerId, a.balanceMinor],
  supply: (s: Supply): CborValue[] => [s.supplyMinor],
  transfer: (t: TransferRecord): CborValue[] => [t.contentHash],
  escrow: (e: Escrow): CborValue[] => [
    e.jobId, e.tenantAccountId, e.providerAccountId, e.currency, e.amountMinor, e.deadlineMs, e.openedAtMs, e.contentHash,
    e.status, e.postedMinor, e.feeMinor, e.resolvedAtMs, e.settledBy, e.slaReportId,
  ],
  node: (n: NodeRecord): CborValue[] => [
    n.registeredAtMs, n.reputationPpm,
    n.keys.map((k): CborValue[] => [k.epoch, k.publicKey, k.activatedAtMs, optional(k.retiredAtMs), optional(k.revokedAtMs)]),
  ],
  receipt: (r: SettledReceipt): CborValue[] => [r.contentHash, r.notAfterMs],
  offense: (o: Offense): CborValue[] => [o.evidenceHash, o.slashedAtMs],
  slaReport: (s: SlaReport): CborValue[] => [s.jobId, s.nodeId, s.reportedAtMs],
};

/** What the indexes need of tables a snapshot reader left cold (LedgerState.rebuildIndexes). */
export interface ColdIndexes {
  /** The earliest not-after of the settled receipts, when they are cold. */
  readonly receiptsNotAfterMsMin?: number;
  /** Every escrow's id and job (in the same order), the pending ones' ids and their earliest deadline, when escrows are cold. */
  readonly escrows?: {
    readonly ids: readonly string[];
    readonly jobIds: readonly string[];
    readonly pendingIds: readonly string[];
    readonly expiryDueMs: number;
  };
}

/** Heights between full counts of the pending escrows in `assertInvariants` (between them, the count is kept from the block's writes). */
export const INVARIANTS_FULL_EVERY_BLOCKS = 100;

export class LedgerState {
  readonly params: LedgerParams;
  height: number;
  lastBlockTimeMs: number;
  readonly accounts: DigestedTable<Account>;
  readonly supplies: DigestedTable<Supply>;
  readonly transfers: DigestedTable<TransferRecord>;
  readonly escrows: DigestedTable<Escrow>;
  readonly nodes: DigestedTable<NodeRecord>;
  readonly receipts: DigestedTable<SettledReceipt>;
  readonly offenses: DigestedTable<Offense>;
  readonly slaReports: DigestedTable<SlaReport>;
  // Derived from the tables (not hashed, not in snapshots; rebuilt on restore): the ledger's own
  // accounts per currency, each job's escrow, each public key's owner, the pending escrows.
  readonly feeAccountByCurrency = new Map<string, string>();
  readonly escrowAccountByCurrency = new Map<string, string>();
  readonly pendingEscrowIds = new Set<string>();
  /**
   * Σ amounts of pending escrows per currency as of the last fold, kept from the escrow table's own
   * writes (not from balance movements), so that the escrow-account invariant is checked per block
   * in O(escrows written), not O(pending escrows); null until the first full count.
   */
  #heldAtFold: Map<string, bigint> | null = null;
  /** jobId → escrowId (a job has one escrow, ever). */
  readonly escrowIdByJob = new Map<string, string>();
  /** Public key (hex) → its node and epoch, over all nodes and epochs. */
  readonly publicKeyOwners = new Map<string, PublicKeyOwner>();
  /** No pending escrow has a deadline before this (a block before it need not look for expiries). */
  escrowExpiryDueMs = Number.POSITIVE_INFINITY;
  /** No settled receipt may be forgotten before this (a block before it need not prune). */
  receiptPruneDueMs = Number.POSITIVE_INFINITY;

  constructor(params: LedgerParams, height = 0, lastBlockTimeMs = 0) {
    validateLedgerParams(params);
    this.params = params;
    this.height = height;
    this.lastBlockTimeMs = lastBlockTimeMs;
    const limits = params.limits;
    this.accounts = new DigestedTable('accounts', limits.accountsMax, ENCODERS.account);
    // One supply per currency, and a currency exists only through an account of it.
    this.supplies = new DigestedTable('supplies', limits.accountsMax, ENCODERS.supply);
    this.transfers = new DigestedTable('transfers', limits.transferIdsMax, ENCODERS.transfer);
    this.escrows = new DigestedTable('escrows', limits.escrowsMax, ENCODERS.escrow);
    this.nodes = new DigestedTable('nodes', limits.nodesMax, ENCODERS.node);
    this.receipts = new DigestedTable('receipts', limits.settledReceiptsMax, ENCODERS.receipt);
    this.offenses = new DigestedTable('offenses', limits.offensesMax, ENCODERS.offense);
    this.slaReports = new DigestedTable('sla-reports', limits.slaReportsMax, ENCODERS.slaReport);
  }

  /** The tables in state-hash and snapshot order. */
  tables(): readonly DigestedTable<unknown>[] {
    return [this.accounts, this.supplies, this.transfers, this.escrows, this.nodes, this.receipts, this.offenses, this.slaReports] as DigestedTable<unknown>[];
  }

  /**
   * Rebuilds the derived indexes from the tables (after a restore). A table restored cold (all its
   * entries unread: `DigestedTable.loadCold`) is not walked: the snapshot reader gives what the
   * indexes need of it (`ColdIndexes`).
   */
  rebuildIndexes(cold: ColdIndexes = {}): void {
    this.feeAccountByCurrency.clear();
    this.escrowAccountByCurrency.clear();
    this.pendingEscrowIds.clear();
    this.escrowIdByJob.clear();
    this.publicKeyOwners.clear();
    for (const account of this.accounts.values()) {
      if (account.kind === 'fee') this.feeAccountByCurrency.set(account.currency, account.id);
      if (account.kind === 'escrow') this.escrowAccountByCurrency.set(account.currency, account.id);
    }
    this.escrowExpiryDueMs = Number.POSITIVE_INFINITY;
    for (const node of this.nodes.values()) {
      for (const key of node.keys) this.publicKeyOwners.set(Buffer.from(key.publicKey).toString('hex'), { nodeId: node.id, epoch: key.epoch });
    }
    if (this.escrows.coldCount > 0) {
      const index = cold.escrows;
      assert.ok(index !== undefined && this.escrows.coldCount === this.escrows.size && index.ids.length === this.escrows.size, 'a cold escrows table comes with its index');
      for (let i = 0; i < index.ids.length; i++) this.escrowIdByJob.set(index.jobIds[i]!, index.ids[i]!);
      for (const id of index.pendingIds) this.pendingEscrowIds.add(id);
      this.escrowExpiryDueMs = index.expiryDueMs;
    } else {
      for (const escrow of this.escrows.values()) {
        this.escrowIdByJob.set(escrow.jobId, escrow.id);
        if (escrow.status !== 'pending') continue;
        this.pendingEscrowIds.add(escrow.id);
        this.escrowExpiryDueMs = Math.min(this.escrowExpiryDueMs, escrow.deadlineMs);
      }
    }
    this.receiptPruneDueMs = Number.POSITIVE_INFINITY;
    if (this.receipts.coldCount > 0) {
      const notAfterMsMin = cold.receiptsNotAfterMsMin;
      assert.ok(this.receipts.coldCount === this.receipts.size && notAfterMsMin !== undefined && Number.isSafeInteger(notAfterMsMin), 'a cold receipts table comes with its earliest not-after');
      this.receiptPruneDueMs = notAfterMsMin + this.params.receiptGraceMs;
      return;
    }
    for (const receipt of this.receipts.values()) this.receiptPruneDueMs = Math.min(this.receiptPruneDueMs, this.receiptForgetAfterMs(receipt));
  }

  /** A settled receipt is remembered until the block time passes this: after it, it could only be refused as expired. */
  receiptForgetAfterMs(receipt: SettledReceipt): number {
    return receipt.notAfterMs + this.params.receiptGraceMs;
  }

  /** Moves money: the one place balances change, apart from a mint. */
  move(movement: Movement): void {
    const debit = this.accounts.get(movement.debitAccountId);
    const credit = this.accounts.get(movement.creditAccountId);
    if (movement.amountMinor <= 0n || debit === undefined || credit === undefined || debit === credit
      || debit.currency !== movement.currency || credit.currency !== movement.currency || debit.balanceMinor < movement.amountMinor) {
      assert.fail(`movement ${movement.transferId} of ${movement.amountMinor} ${movement.currency} from ${movement.debitAccountId} to ${movement.creditAccountId} breaks double entry or overdraws`);
    }
    this.accounts.set(debit.id, { ...debit, balanceMinor: debit.balanceMinor - movement.amountMinor });
    this.accounts.set(credit.id, { ...credit, balanceMinor: credit.balanceMinor + movement.amountMinor });
  }

  /** Folds the block's writes into the digests and returns the state hash. */
  commitBlock(): Uint8Array {
    if (this.#heldAtFold !== null) this.#heldAtFold = this.#heldWithUnfoldedWrites(this.#heldAtFold);
    for (const table of this.tables()) table.foldWrites();
    return this.stateHash();
  }

  /** The state hash as of the last committed block (no writes may be pending). */
  stateHash(): Uint8Array {
    const tables = this.tables();
    assert.ok(tables.every((t) => !t.hasUnfoldedWrites), 'state hash asked for in the middle of a block');
    return this.#hashWith(tables.map((t) => t.digest));
  }

  /** The state hash with every digest computed from scratch (tests, snapshot verification). */
  recomputeStateHash(): Uint8Array {
    return this.#hashWith(this.tables().map((t) => t.recomputeDigest()));
  }

  /** `held` plus (sign 1) or minus (sign −1) what the escrow writes since the last fold changed in pending amounts, as a new map. */
  #heldWithUnfoldedWrites(held: ReadonlyMap<string, bigint>, sign: 1n | -1n = 1n): Map<string, bigint> {
    const result = new Map(held);
    const add = (escrow: Escrow | undefined, amountSign: bigint): void => {
      if (escrow?.status !== 'pending') return;
      result.set(escrow.currency, (result.get(escrow.currency) ?? 0n) + sign * amountSign * escrow.amountMinor);
    };
    this.escrows.forEachUnfoldedWrite((_id, before, after) => {
      add(before, -1n);
      add(after, 1n);
    });
    return result;
  }

  #hashWith(digests: readonly Uint8Array[]): Uint8Array {
    const tables = this.tables();
    return sha256(encodeCbor([
      'orbitfed/ledger-state/v1', encodeLedgerParams(this.params), this.height, this.lastBlockTimeMs,
      tables.map((t, i): CborValue[] => [t.name, t.size, digests[i]!]),
    ]));
  }

  /**
   * Checks the invariants (consensus/README.md): Σ balances of each currency = its supply; no
   * balance below zero; each currency's escrow account holds exactly its pending escrows. Throws
   * AssertionError (kept on in production: a violation is a bug that must stop the validator).
   */
  assertInvariants(): void {
    const sums = new Map<string, bigint>();
    for (const account of this.accounts.values()) {
      assert.ok(account.balanceMinor >= 0n, `account ${account.id} is overdrawn (${account.balanceMinor})`);
      sums.set(account.currency, (sums.get(account.currency) ?? 0n) + account.balanceMinor);
    }
    for (const supply of this.supplies.values()) {
      assert.equal(sums.get(supply.currency) ?? 0n, supply.supplyMinor, `currency ${supply.currency}: balances do not add up to the supply`);
    }
    for (const currency of sums.keys()) assert.ok(this.supplies.has(currency), `currency ${currency} has balances but no supply record`);
    // Every INVARIANTS_FULL_EVERY_BLOCKS heights (and at the first check after a start) the pending
    // escrows are counted in full, and the count kept from the writes must agree with it.
    let held: Map<string, bigint>;
    if (this.#heldAtFold === null || this.height % INVARIANTS_FULL_EVERY_BLOCKS === 0) {
      held = new Map<string, bigint>();
      for (const id of this.pendingEscrowIds) {
        const escrow = this.escrows.get(id);
        assert.ok(escrow !== undefined && escrow.status === 'pending');
        held.set(escrow.currency, (held.get(escrow.currency) ?? 0n) + escrow.amountMinor);
      }
      if (this.#heldAtFold === null) {
        this.#heldAtFold = this.#heldWithUnfoldedWrites(held, -1n);
      } else {
        const kept = this.#heldWithUnfoldedWrites(this.#heldAtFold);
        for (const currency of new Set([...held.keys(), ...kept.keys()])) {
          assert.equal(kept.get(currency) ?? 0n, held.get(currency) ?? 0n, `pending escrows of ${currency}: the count kept from writes differs from the full count`);
        }
      }
    } else {
      held = this.#heldWithUnfoldedWrites(this.#heldAtFold);
      this.escrows.forEachUnfoldedWrite((id, _before, after) => {
        assert.equal(this.pendingEscrowIds.has(id), after?.status === 'pending', `escrow ${id}: the pending index disagrees with the table`);
      });
    }
    for (const [currency, accountId] of this.escrowAccountByCurrency) {
      assert.equal(this.accounts.get(accountId)!.balanceMinor, held.get(currency) ?? 0n, `escrow account of ${currency} does not hold exactly its pending escrows`);
    }
  }
}

/**
 * What a transaction handler decides: the result, and for an applied transaction the writes to
 * make. Handlers check everything before returning and write nothing themselves, so a refused
 * transaction changes nothing and a dry run (`Ledger.checkTransaction`) is the same code path.
 */
export interface Outcome {
  readonly result: TransactionResult;
  readonly apply?: () => void;
}

export const rejected = (code: LedgerRejectionCode, detail: string): Outcome => ({ result: { status: 'rejected', code, detail } });
export const NO_OP: Outcome = { result: { status: 'no-op' } };
export const applied = (movements: readonly Movement[], apply: () => void): Outcome => ({ result: { status: 'applied', movements }, apply });

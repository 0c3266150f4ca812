// The scheduler's port to the ledger (ARCHITECTURE: "the placement is committed with an escrow
// transfer on the ledger"): open a job's escrow when it is placed, void it when the job is
// cancelled or moved, report an SLA violation when a node misses a deadline, read balances and
// reputations. Two implementations plug in behind it: `InProcessEscrowLedger` below (the embedded
// federation and tests: consensus' Ledger in this process, one block per operation) and, later, a
// validator-backed one that submits the same transactions to the validators' mempool.
//
// Ids. Every operation is idempotent by an id the scheduler derives from the job (escrow id
// "<job id>.<attempt>"), so retrying after a crash or a lost answer is a no-op on the ledger, never
// a second hold. A job placed again (re-planning) gets a new attempt, hence a new escrow: the ledger
// allows one escrow per job id (ORBITFED_LEDGER_JOB_HAS_ESCROW), so the ledger's job id is the
// attempt's ("<job id>.<attempt>"), and that is what the node's usage receipt names.
//
// Accounts. A tenant's account in a currency is "t:<tenant>:<currency>", a node's provider account
// "p:<node>:<currency>" (or "p:<sha256 prefix>:<currency>" when the node id is too long for a
// ledger id), owned by the node id, so that an SLA report against the node finds its escrows.
// The in-process ledger opens provider accounts and the currency's fee and escrow accounts on the
// first escrow that needs them; tenant accounts and their money come from `fundTenant` (genesis).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { OrbitfedError, readBoundedFile, replaceFileDurably, type Clock } from '../common/index.ts';
import { defaultLedgerParams, ID_PATTERN, Ledger, SNAPSHOT_BYTES_MAX, type Escrow, type LedgerTransaction, type TransactionResult } from '../consensus/index.ts';

export interface EscrowRequest {
  readonly escrowId: string;
  /** The job as the ledger knows it: "<job id>.<attempt>". */
  readonly ledgerJobId: string;
  readonly tenantId: string;
  readonly nodeId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  /** Consensus time at which a still-pending escrow returns to the tenant. */
  readonly deadlineMs: number;
}

export interface SlaViolationReport {
  readonly reportId: string;
  readonly ledgerJobId: string;
  readonly nodeId: string;
}

/** What the ledger said: applied, already applied (no-op), or refused with its code. */
export type EscrowOutcome =
  | { readonly ok: true; readonly status: 'applied' | 'no-op' }
  | { readonly ok: false; readonly code: string; readonly detail: string };

export interface EscrowView {
  readonly escrowId: string;
  readonly ledgerJobId: string;
  readonly status: 'pending' | 'posted' | 'voided' | 'expired';
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly deadlineMs: number;
}

/** The port. Every method is safe to retry with the same arguments. */
export interface EscrowLedger {
  openEscrow(request: EscrowRequest): Promise<EscrowOutcome>;
  voidEscrow(escrowId: string): Promise<EscrowOutcome>;
  /** The node missed the job's deadline: slashes its stake and voids the escrow if still pending. */
  reportSlaViolation(report: SlaViolationReport): Promise<EscrowOutcome>;
  /** The tenant's balance in a currency, or undefined if it has no account in it. */
  balanceMinor(tenantId: string, currency: string): Promise<bigint | undefined>;
  escrow(escrowId: string): Promise<EscrowView | undefined>;
  /** Escrows still pending (bounded by the ledger's `pendingEscrowsMax`); recovery voids orphans. */
  pendingEscrows(): Promise<EscrowView[]>;
  /** The node's reputation on the ledger (ppm), or undefined if the ledger does not know the node. */
  reputationPpm(nodeId: string): Promise<number | undefined>;
}

function ledgerId(prefix: string, owner: string, currency: string): string {
  const plain = `${prefix}:${owner}:${currency}`;
  if (ID_PATTERN.test(plain)) return plain;
  const digest = createHash('sha256').update(owner).digest('hex').slice(0, 40);
  return `${prefix}:${digest}:${currency}`;
}

export const tenantAccountId = (tenantId: string, currency: string): string => ledgerId('t', tenantId, currency);
export const providerAccountId = (nodeId: string, currency: string): string => ledgerId('p', nodeId, currency);
export const feeAccountId = (currency: string): string => `fee:${currency}`;
export const escrowAccountId = (currency: string): string => `escrow:${currency}`;

function outcomeOf(result: TransactionResult): EscrowOutcome {
  return result.status === 'rejected' ? { ok: false, code: result.code, detail: result.detail } : { ok: true, status: result.status };
}

function viewOf(escrow: Escrow): EscrowView {
  return {
    escrowId: escrow.id, ledgerJobId: escrow.jobId, status: escrow.status, currency: escrow.currency,
    amountMinor: escrow.amountMinor, deadlineMs: escrow.deadlineMs,
  };
}

export interface InProcessEscrowLedgerOptions {
  readonly chainId: string;
  readonly clock: Clock;
  /**
   * Where the ledger's snapshot is kept (base64 of `Ledger.snapshot()`, replaced durably after
   * every block); in memory only when absent.
   */
  readonly snapshotPath?: string | undefined;
}

/**
 * consensus' Ledger in this process: each operation is one block of its transactions at the
 * clock's time (never before the last block's: block times do not go backwards), persisted as a
 * snapshot before the call returns, so an escrow the API reported is on disk. Snapshots grow with
 * the ledger (about 180 bytes per settled receipt, consensus/README.md): fine for the embedded
 * federation; a production scheduler uses the validator-backed ledger instead.
 */
export class InProcessEscrowLedger implements EscrowLedger {
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #snapshotPath: string | undefined;

  private constructor(ledger: Ledger, options: InProcessEscrowLedgerOptions) {
    this.#ledger = ledger;
    this.#clock = options.clock;
    this.#snapshotPath = options.snapshotPath;
  }

  /** Restores the snapshot at `snapshotPath` if there is one, else starts from genesis. */
  static async open(options: InProcessEscrowLedgerOptions): Promise<InProcessEscrowLedger> {
    if (options.snapshotPath !== undefined && existsSync(options.snapshotPath)) {
      const text = (await readBoundedFile(options.snapshotPath, {
        what: 'ledger snapshot', maxBytes: Math.ceil((SNAPSHOT_BYTES_MAX * 4) / 3) + 4, readCode: 'ORBITFED_ESCROW_LEDGER_READ', tooLargeCode: 'ORBITFED_ESCROW_LEDGER_READ',
      })).toString('latin1');
      if (!/^[A-Za-z0-9+/]*={0,2}\s*$/.test(text)) {
        throw new OrbitfedError('ORBITFED_ESCROW_LEDGER_READ', 'the ledger snapshot is not base64 text', { file: options.snapshotPath });
      }
      const ledger = Ledger.restore(new Uint8Array(Buffer.from(text, 'base64')));
      if (ledger.params.chainId !== options.chainId) {
        throw new OrbitfedError('ORBITFED_ESCROW_LEDGER_READ', `the ledger snapshot is of chain ${ledger.params.chainId}, not ${options.chainId}`, { file: options.snapshotPath });
      }
      return new InProcessEscrowLedger(ledger, options);
    }
    const ledger = new InProcessEscrowLedger(Ledger.genesis(defaultLedgerParams(options.chainId)), options);
    ledger.#persist();
    return ledger;
  }

  /** The ledger itself, read-only use (tests and the embedded validator view). */
  get ledger(): Ledger {
    return this.#ledger;
  }

  /**
   * Opens the tenant's account in `currency` if needed and mints `amountMinor` into it under
   * `transferId` (idempotent: the same id again is a no-op). Genesis and tests only.
   */
  fundTenant(tenantId: string, currency: string, amountMinor: bigint, transferId: string): EscrowOutcome {
    const account = tenantAccountId(tenantId, currency);
    const txs: LedgerTransaction[] = [{ kind: 'open-account', accountId: account, accountKind: 'tenant', currency, ownerId: tenantId }];
    if (amountMinor > 0n) txs.push({ kind: 'mint', transferId, accountId: account, amountMinor });
    return this.#applyAll(txs);
  }

  async openEscrow(request: EscrowRequest): Promise<EscrowOutcome> {
    const { currency } = request;
    return this.#applyAll([
      { kind: 'open-account', accountId: feeAccountId(currency), accountKind: 'fee', currency, ownerId: 'federation' },
      { kind: 'open-account', accountId: escrowAccountId(currency), accountKind: 'escrow', currency, ownerId: 'federation' },
      { kind: 'open-account', accountId: providerAccountId(request.nodeId, currency), accountKind: 'provider', currency, ownerId: request.nodeId },
      {
        kind: 'escrow-open', escrowId: request.escrowId, jobId: request.ledgerJobId, tenantAccountId: tenantAccountId(request.tenantId, currency),
        providerAccountId: providerAccountId(request.nodeId, currency), amountMinor: request.amountMinor, deadlineMs: request.deadlineMs,
      },
    ]);
  }

  async voidEscrow(escrowId: string): Promise<EscrowOutcome> {
    return this.#applyAll([{ kind: 'escrow-void', escrowId }]);
  }

  async reportSlaViolation(report: SlaViolationReport): Promise<EscrowOutcome> {
    return this.#applyAll([{ kind: 'sla-violation', reportId: report.reportId, jobId: report.ledgerJobId, nodeId: report.nodeId }]);
  }

  async balanceMinor(tenantId: string, currency: string): Promise<bigint | undefined> {
    return this.#ledger.account(tenantAccountId(tenantId, currency))?.balanceMinor;
  }

  async escrow(escrowId: string): Promise<EscrowView | undefined> {
    const escrow = this.#ledger.escrow(escrowId);
    return escrow === undefined ? undefined : viewOf(escrow);
  }

  async pendingEscrows(): Promise<EscrowView[]> {
    return this.#ledger.escrows().filter((e) => e.status === 'pending').map(viewOf);
  }

  async reputationPpm(nodeId: string): Promise<number | undefined> {
    return this.#ledger.node(nodeId)?.reputationPpm;
  }

  /**
   * One block of `txs`; the outcome is the last transaction's (the one asked for: the account
   * openings before it are no-ops once the accounts exist, and if one was refused the last one is
   * refused too, naming the account). Persisted before returning.
   */
  #applyAll(txs: readonly LedgerTransaction[]): EscrowOutcome {
    const blockTimeMs = Math.max(Math.floor(this.#clock.now()), this.#ledger.lastBlockTimeMs);
    const { results } = this.#ledger.applyBlock(txs, blockTimeMs);
    this.#persist();
    return outcomeOf(results.at(-1)!);
  }

  #persist(): void {
    if (this.#snapshotPath === undefined) return;
    try {
      replaceFileDurably(this.#snapshotPath, Buffer.from(this.#ledger.snapshot()).toString('base64'), 0o600);
    } catch (error) {
      throw new OrbitfedError('ORBITFED_ESCROW_LEDGER_WRITE', `cannot write the ledger snapshot: ${(error as Error).message}`, { file: this.#snapshotPath }, { cause: error });
    }
  }
}

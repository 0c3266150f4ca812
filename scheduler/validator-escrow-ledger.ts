// The escrow port (escrow-ledger.ts) backed by the settlement validators: the same transactions the
// in-process ledger applies, submitted to a validator's RPC and answered once committed (`wait=commit`),
// so an escrow the API reports is final on the chain. Reads go to the same validator. Every
// operation is idempotent by its ids, so a retry after a lost answer is safe: the ledger answers
// "no-op" for what was already applied.
import { OrbitfedError } from '../common/index.ts';
import { encodeTransaction, TX_CODE, ValidatorClient, type LedgerTransaction, type SubmittedTx } from '../consensus/index.ts';
import {
  escrowAccountId, feeAccountId, providerAccountId, tenantAccountId, type EscrowLedger, type EscrowOutcome, type EscrowRequest, type EscrowView,
  type SlaViolationReport,
} from './escrow-ledger.ts';

/** What the escrow ledger asks of a validator: its RPC client, or an in-process stand-in (hil's swarm). */
export type EscrowValidatorClient = Pick<ValidatorClient, 'submit' | 'account' | 'escrow' | 'pendingEscrows' | 'node'>;

export interface ValidatorEscrowLedgerOptions {
  /** A validator's RPC, e.g. http://127.0.0.1:26601. */
  readonly rpcUrl: string;
  /** Talk to this client instead of the RPC at `rpcUrl` (then only named in errors). */
  readonly client?: EscrowValidatorClient | undefined;
  /** How long to wait for a commit; default 20 s. */
  readonly commitTimeoutMs?: number;
}

export class ValidatorEscrowLedger implements EscrowLedger {
  readonly #client: EscrowValidatorClient;
  readonly #commitTimeoutMs: number;

  constructor(options: ValidatorEscrowLedgerOptions) {
    this.#client = options.client ?? new ValidatorClient(options.rpcUrl);
    this.#commitTimeoutMs = options.commitTimeoutMs ?? 20_000;
  }

  openEscrow(request: EscrowRequest): Promise<EscrowOutcome> {
    const { currency } = request;
    return this.#submit([
      { kind: 'open-account', accountId: feeAccountId(currency), accountKind: 'fee', currency, ownerId: 'federation' },
      { kind: 'open-account', accountId: escrowAccountId(currency), accountKind: 'escrow', currency, ownerId: 'federation' },
      { kind: 'open-account', accountId: providerAccountId(request.nodeId, currency), accountKind: 'provider', currency, ownerId: request.nodeId },
      {
        kind: 'escrow-open', escrowId: request.escrowId, jobId: request.ledgerJobId, tenantAccountId: tenantAccountId(request.tenantId, currency),
        providerAccountId: providerAccountId(request.nodeId, currency), amountMinor: request.amountMinor, deadlineMs: request.deadlineMs,
      },
    ]);
  }

  voidEscrow(escrowId: string): Promise<EscrowOutcome> {
    return this.#submit([{ kind: 'escrow-void', escrowId }]);
  }

  reportSlaViolation(report: SlaViolationReport): Promise<EscrowOutcome> {
    return this.#submit([{ kind: 'sla-violation', reportId: report.reportId, jobId: report.ledgerJobId, nodeId: report.nodeId }]);
  }

  async balanceMinor(tenantId: string, currency: string): Promise<bigint | undefined> {
    const account = await this.#client.account(tenantAccountId(tenantId, currency));
    return account === undefined ? undefined : BigInt(account.balanceMinor as string);
  }

  async escrow(escrowId: string): Promise<EscrowView | undefined> {
    const escrow = await this.#client.escrow(escrowId);
    return escrow === undefined ? undefined : viewOf(escrow);
  }

  async pendingEscrows(): Promise<EscrowView[]> {
    return (await this.#client.pendingEscrows()).map(viewOf);
  }

  async reputationPpm(nodeId: string): Promise<number | undefined> {
    const node = await this.#client.node(nodeId);
    return node === undefined ? undefined : (node.reputationPpm as number);
  }

  /** Submits `txs` together; the outcome is the last one's (as the in-process ledger's). */
  async #submit(txs: readonly LedgerTransaction[]): Promise<EscrowOutcome> {
    const answers = await this.#client.submit(txs.map(encodeTransaction), { waitForCommit: true, timeoutMs: this.#commitTimeoutMs });
    const last = answers.at(-1)!;
    return outcomeOf(last);
  }
}

function outcomeOf(answer: SubmittedTx): EscrowOutcome {
  if (answer.admission === 'full' || answer.admission === 'malformed') {
    return { ok: false, code: answer.admission === 'full' ? 'ORBITFED_MEMPOOL_FULL' : 'ORBITFED_LEDGER_MALFORMED', detail: `the validator did not admit the transaction (${answer.admission})` };
  }
  if (answer.status !== 'committed') {
    throw new OrbitfedError('ORBITFED_VALIDATOR_TIMEOUT', `transaction ${answer.hash} was not committed in time; submitting it again is safe`);
  }
  if (answer.code === TX_CODE.applied) return { ok: true, status: 'applied' };
  if (answer.code === TX_CODE.noOp) return { ok: true, status: 'no-op' };
  const log = answer.log ?? '';
  const colon = log.indexOf(':');
  return { ok: false, code: colon > 0 ? log.slice(0, colon) : 'ORBITFED_LEDGER_REJECTED', detail: colon > 0 ? log.slice(colon + 1).trim() : log };
}

function viewOf(record: Record<string, unknown>): EscrowView {
  return {
    escrowId: record.id as string,
    ledgerJobId: record.jobId as string,
    status: record.status as EscrowView['status'],
    currency: record.currency as string,
    amountMinor: BigInt(record.amountMinor as string),
    deadlineMs: record.deadlineMs as number,
  };
}

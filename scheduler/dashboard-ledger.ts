// What the dashboard's ledger panel shows a tenant: its balances, the escrows of its newest jobs
// (held, settled with the fee, refunded, SLA-reported), the federation's fee accounts, providers'
// reputations and the validators' height and health.
//
// Three readers, by what the scheduler has: the in-process ledger itself (the embedded default:
// every record), the validators' RPC (`GET /v1/accounts/{id}`, `/v1/escrows/{id}`, `/v1/status`),
// or, for any other escrow port, only what the port tells (balances and escrow status: no fees).
// Validator calls are bounded by `validatorTimeoutMs`; a validator that does not answer in time is
// shown unhealthy with the reason, never waited for. That bound is a network duration, so it is wall
// time even when the scheduler runs on a faster clock (the demo's plan time, a ScaledClock at 60×
// or more): measured in the faster clock's milliseconds, 3 s would leave a validator 50 ms.
import { ioClockFor, OrbitfedError, type Clock, type DurationMs } from '../common/index.ts';
import { ValidatorClient, type Escrow, type Ledger } from '../consensus/index.ts';
import { feeAccountId, InProcessEscrowLedger, tenantAccountId, type EscrowLedger } from './escrow-ledger.ts';

export type LedgerSource = 'in-process' | 'validators' | 'escrow-port';

export interface EscrowDetail {
  readonly escrowId: string;
  readonly ledgerJobId: string;
  readonly status: string;
  readonly currency: string;
  readonly amountMinor: string;
  readonly deadlineMs: number;
  /** Posted amount (fee included) once settled. */
  readonly postedMinor?: string;
  readonly feeMinor?: string;
  readonly resolvedAtMs?: number;
  /** The receipt that settled it ("node#sequence"). */
  readonly settledBy?: string;
  readonly slaReportId?: string;
}

export interface ValidatorHealth {
  readonly url: string;
  readonly healthy: boolean;
  readonly name?: string;
  readonly chainId?: string;
  readonly height?: number;
  readonly round?: number;
  readonly step?: string;
  readonly mempoolTxs?: number;
  readonly lastBlockTimeMs?: number;
  readonly error?: string;
}

interface LedgerReader {
  readonly source: LedgerSource;
  balanceMinor(tenantId: string, currency: string): Promise<bigint | undefined>;
  escrow(escrowId: string): Promise<EscrowDetail | undefined>;
  feeBalanceMinor(currency: string): Promise<bigint | undefined>;
  /** The in-process ledger's height and last block time (validators report theirs as health). */
  chain(): { height: number; lastBlockTimeMs: number } | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'bigint' ? value.toString() : typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined);

function detailOfRecord(record: Escrow | Record<string, unknown>): EscrowDetail {
  const r = record as Record<string, unknown>;
  const posted = text(r['postedMinor']);
  const fee = text(r['feeMinor']);
  const resolvedAtMs = typeof r['resolvedAtMs'] === 'number' && r['resolvedAtMs'] > 0 ? r['resolvedAtMs'] : undefined;
  return {
    escrowId: String(r['id']), ledgerJobId: String(r['jobId']), status: String(r['status']), currency: String(r['currency']),
    amountMinor: text(r['amountMinor']) ?? '0', deadlineMs: Number(r['deadlineMs']),
    ...(posted === undefined || posted === '0' ? {} : { postedMinor: posted }),
    ...(fee === undefined || fee === '0' ? {} : { feeMinor: fee }),
    ...(resolvedAtMs === undefined ? {} : { resolvedAtMs }),
    ...(typeof r['settledBy'] === 'string' && r['settledBy'] !== '' ? { settledBy: r['settledBy'] } : {}),
    ...(typeof r['slaReportId'] === 'string' && r['slaReportId'] !== '' ? { slaReportId: r['slaReportId'] } : {}),
  };
}

function inProcessReader(ledger: Ledger): LedgerReader {
  return {
    source: 'in-process',
    balanceMinor: async (tenantId, currency) => ledger.account(tenantAccountId(tenantId, currency))?.balanceMinor,
    escrow: async (escrowId) => {
      const escrow = ledger.escrow(escrowId);
      return escrow === undefined ? undefined : detailOfRecord(escrow);
    },
    feeBalanceMinor: async (currency) => ledger.account(feeAccountId(currency))?.balanceMinor,
    chain: () => ({ height: ledger.height, lastBlockTimeMs: ledger.lastBlockTimeMs }),
  };
}

function validatorReader(client: ValidatorClient, bounded: <T>(work: Promise<T>, what: string) => Promise<T>): LedgerReader {
  const balance = async (id: string): Promise<bigint | undefined> => {
    const account = await bounded(client.account(id), `account ${id}`);
    const value = text(account?.['balanceMinor']);
    return value === undefined ? undefined : BigInt(value);
  };
  return {
    source: 'validators',
    balanceMinor: (tenantId, currency) => balance(tenantAccountId(tenantId, currency)),
    escrow: async (escrowId) => {
      const record = await bounded(client.escrow(escrowId), `escrow ${escrowId}`);
      return record === undefined ? undefined : detailOfRecord(record);
    },
    feeBalanceMinor: (currency) => balance(feeAccountId(currency)),
    chain: () => undefined,
  };
}

function portReader(escrow: EscrowLedger): LedgerReader {
  return {
    source: 'escrow-port',
    balanceMinor: (tenantId, currency) => escrow.balanceMinor(tenantId, currency),
    escrow: async (escrowId) => {
      const view = await escrow.escrow(escrowId);
      return view === undefined ? undefined : {
        escrowId: view.escrowId, ledgerJobId: view.ledgerJobId, status: view.status, currency: view.currency, amountMinor: view.amountMinor.toString(), deadlineMs: view.deadlineMs,
      };
    },
    feeBalanceMinor: async () => undefined,
    chain: () => undefined,
  };
}

export interface LedgerSummaryInput {
  readonly tenantId: string;
  /** Currencies to show balances and fees in (of the tenant's jobs and the nodes' prices). */
  readonly currencies: readonly string[];
  /** The tenant's newest jobs that hold or held an escrow. */
  readonly escrows: readonly { readonly jobId: string; readonly escrowId: string }[];
  /** Providers' ledger reputations (ppm) as the scheduler knows them. */
  readonly reputations: readonly { readonly nodeId: string; readonly reputationPpm: number | undefined }[];
}

export interface LedgerSummary {
  readonly source: LedgerSource;
  readonly height?: number;
  readonly lastBlockTimeMs?: number;
  readonly balances: readonly { readonly currency: string; readonly balanceMinor: string }[];
  readonly escrows: readonly (EscrowDetail & { readonly jobId: string })[];
  readonly totals: readonly { readonly currency: string; readonly heldMinor: string; readonly settledMinor: string; readonly feesMinor: string; readonly refundedMinor: string }[];
  readonly feeAccounts: readonly { readonly currency: string; readonly balanceMinor: string }[];
  readonly providers: readonly { readonly nodeId: string; readonly reputationPpm?: number }[];
  readonly validators: readonly ValidatorHealth[];
  /** Queries that failed (a validator down, a timeout), in words. */
  readonly problems: readonly string[];
}

/** The ledger as the dashboard reads it; see the file header for the three sources. */
export class DashboardLedger {
  readonly #reader: LedgerReader;
  readonly #validators: readonly ValidatorClient[];
  /** Times the validators' answers: wall time even on a faster plan clock (see the file header). */
  readonly #ioClock: Clock;
  readonly #timeoutMs: number;

  /** `timeoutMs`: wall-clock milliseconds a validator gets to answer (see the file header). */
  constructor(escrow: EscrowLedger, validatorRpcUrls: readonly string[], clock: Clock, timeoutMs: number) {
    this.#ioClock = ioClockFor(clock);
    this.#timeoutMs = timeoutMs;
    this.#validators = validatorRpcUrls.map((url) => new ValidatorClient(url));
    const bounded = <T>(work: Promise<T>, what: string): Promise<T> => this.#bounded(work, what);
    this.#reader = escrow instanceof InProcessEscrowLedger ? inProcessReader(escrow.ledger)
      : this.#validators.length > 0 ? validatorReader(this.#validators[0]!, bounded) : portReader(escrow);
  }

  get source(): LedgerSource {
    return this.#reader.source;
  }

  /** One escrow as the ledger has it now, or undefined (unknown, or the ledger did not answer: then `problem`). */
  async escrow(escrowId: string): Promise<{ escrow?: EscrowDetail; problem?: string }> {
    try {
      const escrow = await this.#reader.escrow(escrowId);
      return escrow === undefined ? {} : { escrow };
    } catch (error) {
      return { problem: (error as Error).message };
    }
  }

  async summary(input: LedgerSummaryInput): Promise<LedgerSummary> {
    const problems: string[] = [];
    const attempt = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await work();
      } catch (error) {
        problems.push((error as Error).message);
        return undefined;
      }
    };
    const [balances, escrows, fees, validators] = await Promise.all([
      Promise.all(input.currencies.map(async (currency) => ({ currency, balance: await attempt(() => this.#reader.balanceMinor(input.tenantId, currency)) }))),
      Promise.all(input.escrows.map(async ({ jobId, escrowId }) => {
        const escrow = await attempt(() => this.#reader.escrow(escrowId));
        return escrow === undefined ? undefined : { ...escrow, jobId };
      })),
      Promise.all(input.currencies.map(async (currency) => ({ currency, balance: await attempt(() => this.#reader.feeBalanceMinor(currency)) }))),
      Promise.all(this.#validators.map((client) => this.#health(client))),
    ]);
    const known = escrows.filter((e) => e !== undefined);
    const chain = this.#reader.chain();
    return {
      source: this.#reader.source,
      ...(chain === undefined ? {} : { height: chain.height, lastBlockTimeMs: chain.lastBlockTimeMs }),
      balances: balances.filter((b) => b.balance !== undefined).map((b) => ({ currency: b.currency, balanceMinor: b.balance!.toString() })),
      escrows: known,
      totals: totalsOf(known),
      feeAccounts: fees.filter((f) => f.balance !== undefined).map((f) => ({ currency: f.currency, balanceMinor: f.balance!.toString() })),
      providers: input.reputations.map((r) => ({ nodeId: r.nodeId, ...(r.reputationPpm === undefined ? {} : { reputationPpm: r.reputationPpm }) })),
      validators,
      problems,
    };
  }

  async #health(client: ValidatorClient): Promise<ValidatorHealth> {
    try {
      const status = await this.#bounded(client.status(), 'status');
      return {
        url: client.baseUrl, healthy: status.step !== 'stopped', name: status.name, chainId: status.chainId, height: status.height, round: status.round,
        step: status.step, mempoolTxs: status.mempoolTxs, ...(status.lastCommitted === null ? {} : { lastBlockTimeMs: status.lastCommitted.timeMs }),
      };
    } catch (error) {
      return { url: client.baseUrl, healthy: false, error: (error as Error).message };
    }
  }

  /** `work`, or ORBITFED_VALIDATOR_TIMEOUT once `validatorTimeoutMs` of wall time passed. */
  async #bounded<T>(work: Promise<T>, what: string): Promise<T> {
    const cancel = new AbortController();
    const timeout = this.#ioClock.sleep(this.#timeoutMs as DurationMs, cancel.signal).then(() => {
      throw new OrbitfedError('ORBITFED_VALIDATOR_TIMEOUT', `the validator did not answer ${what} within ${this.#timeoutMs} ms`);
    }, () => undefined as never);
    try {
      return await Promise.race([work, timeout]);
    } finally {
      cancel.abort();
    }
  }
}

function totalsOf(escrows: readonly EscrowDetail[]): LedgerSummary['totals'] {
  const byCurrency = new Map<string, { held: bigint; settled: bigint; fees: bigint; refunded: bigint }>();
  for (const e of escrows) {
    const t = byCurrency.get(e.currency) ?? { held: 0n, settled: 0n, fees: 0n, refunded: 0n };
    const amount = BigInt(e.amountMinor);
    if (e.status === 'pending') t.held += amount;
    else if (e.status === 'posted') {
      const posted = BigInt(e.postedMinor ?? e.amountMinor);
      t.settled += posted;
      t.fees += BigInt(e.feeMinor ?? '0');
      t.refunded += amount - posted;
    } else t.refunded += amount;
    byCurrency.set(e.currency, t);
  }
  return [...byCurrency].map(([currency, t]) => ({
    currency, heldMinor: t.held.toString(), settledMinor: t.settled.toString(), feesMinor: t.fees.toString(), refundedMinor: t.refunded.toString(),
  }));
}

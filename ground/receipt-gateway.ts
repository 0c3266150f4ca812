// The station's receipt gateway (issue 8): signed usage receipts that nodes send toward the
// validators arrive here as bundles; the gateway decodes each strictly, keeps it on disk
// (receipt-queue.ts) and submits it to the validators as a `settle-receipt` ledger transaction,
// retrying with backoff while they are unreachable, until they answered for it.
//
// Guarantees.
// - Nothing acknowledged is lost: `accept` runs inside the bundle store's delivery transaction
//   (dtn's DeliveryHandler) and returns only once the receipt is committed to the queue. If it
//   throws (queue full, disk error), the bundle stays in the bundle store and is offered again. A
//   crash after our commit and before the bundle store's hands the receipt over a second time: the
//   queue recognises it by its SHA-256 and changes nothing.
// - Exactly-once settlement is the ledger's (consensus/ledger-receipts.ts): a receipt submitted twice
//   (a retry after a lost answer, a duplicate bundle, another station's copy) settles once; the
//   second is a no-op. So the gateway may submit as often as it needs to.
// - A receipt leaves the queue only when the validators answered for it: committed in a block (any
//   result: settled, a no-op because it was settled before, or rejected with a ledger code such as
//   ORBITFED_LEDGER_UNKNOWN_JOB), already committed earlier (the mempool remembers it), or refused as
//   malformed by their decoder. "Mempool full", "still pending after the wait", an HTTP error or
//   no answer at all keep it queued for the next attempt.
// - Malformed receipts (not the strict canonical encoding, a field out of range) are refused at
//   `accept` with their decoder's code, logged and counted; their bundle is consumed, because no
//   retry can make those bytes valid.
//
// Rounds. One round submits the oldest `batchMax` receipts to one validator and waits for their
// commit (`commitWaitMs`). After a round that left nothing unanswered the next one starts at once
// while receipts wait; after a failure the next round waits `retryDelayMs`, doubling per failure
// up to `retryDelayMaxMs`, and the next validator of the list is tried (round robin). Timers are on
// the injected Clock.
import {
  OrbitfedError, type Clock, type CounterMetric, type DurationMs, type GaugeMetric, type Logger, type MetricsRegistry, type TimerHandle,
} from '../common/index.ts';
import { decodeSignedReceipt, encodeTransaction, receiptKey, TX_CODE, type SignedReceipt, type SubmittedTx, type ValidatorClient } from '../consensus/index.ts';
import { ReceiptQueue, RECEIPTS_MAX_DEFAULT } from './receipt-queue.ts';

export interface ReceiptGatewayLimits {
  /** Receipts submitted in one request. Default 64. */
  readonly batchMax: number;
  /** How long one request waits for the receipts' commit (the validator's `wait=commit`, ≤ 30 s). Default 10 s. */
  readonly commitWaitMs: number;
  /** Delay before the first retry after a failed round; doubles per failure. Default 1 s. */
  readonly retryDelayMs: number;
  /** Longest delay between retries. Default 60 s. */
  readonly retryDelayMaxMs: number;
  /** Receipts queued at most (see receipt-queue.ts). Default 100,000. */
  readonly receiptsMax: number;
}

export const RECEIPT_GATEWAY_LIMITS_DEFAULT: ReceiptGatewayLimits = {
  batchMax: 64,
  commitWaitMs: 10_000,
  retryDelayMs: 1_000,
  retryDelayMaxMs: 60_000,
  receiptsMax: RECEIPTS_MAX_DEFAULT,
};

/** The validators' RPC wait is at most 30 s (consensus/validator-rpc.ts `waitMsMax`). */
const COMMIT_WAIT_MS_MAX = 30_000;
const BATCH_MAX_LIMIT = 10_000;

export interface ReceiptGatewayOptions {
  /** The queue's SQLite file. */
  readonly queuePath: string;
  /** Clients of the validators' RPC (or in-process stand-ins: hil's swarm), tried in turn. */
  readonly validators: readonly Pick<ValidatorClient, 'submit' | 'baseUrl'>[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry | undefined;
  readonly limits?: Partial<ReceiptGatewayLimits> | undefined;
  /** Called once per receipt the validators answered for (tests, status pages). */
  readonly onAnswered?: ((answer: ReceiptAnswer) => void) | undefined;
}

/** What the validators said about one receipt. */
export type ReceiptOutcome = 'settled' | 'already-settled' | 'rejected' | 'committed-earlier' | 'malformed';

export interface ReceiptAnswer {
  readonly name: string;
  readonly sha256: string;
  readonly outcome: ReceiptOutcome;
  /** The block it was committed in, when known. */
  readonly height: number | undefined;
  /** The ledger's result code and log (a rejection's `ORBITFED_…` code is in the log). */
  readonly code: number | undefined;
  readonly log: string | undefined;
}

export type ReceiptAcceptance =
  | { readonly accepted: true; readonly name: string; readonly duplicate: boolean }
  | { readonly accepted: false; readonly code: string; readonly message: string };

export interface ReceiptGatewayStats {
  readonly pending: number;
  readonly received: number;
  readonly duplicates: number;
  readonly malformed: number;
  readonly answered: Readonly<Record<ReceiptOutcome, number>>;
  readonly failedRounds: number;
  /** Delay before the next round after failures; 0 when the last round succeeded. */
  readonly retryDelayMs: number;
  readonly lastError: string | undefined;
}

function checkLimits(limits: ReceiptGatewayLimits): void {
  const positive = (name: keyof ReceiptGatewayLimits, max: number): void => {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new OrbitfedError('ORBITFED_RECEIPTS_LIMIT', `${name} must be an integer in 1 … ${max}, got ${value}`, { field: name });
    }
  };
  positive('batchMax', BATCH_MAX_LIMIT);
  positive('commitWaitMs', COMMIT_WAIT_MS_MAX);
  positive('retryDelayMs', limits.retryDelayMaxMs);
  positive('retryDelayMaxMs', 86_400_000);
  positive('receiptsMax', Number.MAX_SAFE_INTEGER);
}

const outcomeOf = (tx: SubmittedTx): ReceiptOutcome | undefined => {
  if (tx.admission === 'malformed') return 'malformed';
  // The same bytes were committed before (the mempool remembers their hash): whatever that commit
  // did, this submission did nothing.
  if (tx.admission === 'committed') return 'committed-earlier';
  if (tx.status === 'committed') {
    if (tx.code === TX_CODE.applied) return 'settled';
    if (tx.code === TX_CODE.noOp) return 'already-settled';
    if (tx.code === TX_CODE.malformed) return 'malformed';
    return 'rejected';
  }
  return undefined;
};

export class ReceiptGateway {
  readonly #options: ReceiptGatewayOptions;
  readonly #limits: ReceiptGatewayLimits;
  readonly #clock: Clock;
  readonly #log: Logger;
  #queue: ReceiptQueue | undefined;
  #running = false;
  #abort = new AbortController();
  #timer: TimerHandle | undefined;
  #round: Promise<void> | undefined;
  /** A receipt arrived while a round was under way: run another at once. */
  #again = false;
  #validator = 0;
  #retryDelayMs = 0;
  #lastError: string | undefined;
  readonly #counts = { received: 0, duplicates: 0, malformed: 0, failedRounds: 0 };
  readonly #answered: Record<ReceiptOutcome, number> = { settled: 0, 'already-settled': 0, rejected: 0, 'committed-earlier': 0, malformed: 0 };
  readonly #metrics: {
    readonly received: CounterMetric;
    readonly answered: CounterMetric;
    readonly failedRounds: CounterMetric;
    readonly pending: GaugeMetric;
  } | undefined;

  constructor(options: ReceiptGatewayOptions) {
    if (options.validators.length === 0) throw new OrbitfedError('ORBITFED_RECEIPTS_VALIDATORS', 'the receipt gateway needs at least one validator', { field: 'validators' });
    this.#options = options;
    this.#limits = { ...RECEIPT_GATEWAY_LIMITS_DEFAULT, ...options.limits };
    checkLimits(this.#limits);
    this.#clock = options.clock;
    this.#log = options.logger.child({ component: 'receipt-gateway' });
    const m = options.metrics;
    this.#metrics = m === undefined ? undefined : {
      received: m.counter('orbitfed_ground_receipts_received_total', 'receipt bundles delivered to the gateway, by result', ['result']),
      answered: m.counter('orbitfed_ground_receipts_answered_total', 'receipts the validators answered for, by outcome', ['outcome']),
      failedRounds: m.counter('orbitfed_ground_receipt_rounds_failed_total', 'submissions that failed (validators unreachable or not committed yet)'),
      pending: m.gauge('orbitfed_ground_receipts_pending', 'receipts on disk waiting for the validators'),
    };
  }

  get running(): boolean {
    return this.#running;
  }

  /** Opens the queue and submits what it holds (receipts left by an earlier run first). */
  start(): void {
    if (this.#running) throw new OrbitfedError('ORBITFED_RECEIPTS_RUNNING', 'the receipt gateway is already running');
    this.#queue = ReceiptQueue.open(this.#options.queuePath, { receiptsMax: this.#limits.receiptsMax });
    this.#running = true;
    this.#abort = new AbortController();
    this.#retryDelayMs = 0;
    this.#metrics?.pending.set(this.#queue.size);
    this.#log.info({ queue: this.#options.queuePath, pending: this.#queue.size, validators: this.#options.validators.map((v) => v.baseUrl) }, 'receipt gateway started');
    this.#schedule(0);
  }

  /** Stops submitting (a request under way is aborted; its receipts stay queued) and closes the queue. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort.abort(new OrbitfedError('ORBITFED_RECEIPTS_STOPPED', 'the receipt gateway stopped'));
    await this.#round;
    this.#queue?.close();
    this.#queue = undefined;
    this.#log.info({}, 'receipt gateway stopped');
  }

  /**
   * Takes one receipt bundle's payload: decodes it strictly, stores it, and returns once it is on
   * disk. Synchronous, for dtn's delivery handler. A malformed receipt is refused (returned, not
   * thrown: its bundle is consumed). Throws ORBITFED_RECEIPTS_FULL at the queue's bound,
   * ORBITFED_RECEIPTS_STOPPED when not running, ORBITFED_STORE_* on disk errors: the bundle then
   * stays in the bundle store and is delivered again later.
   */
  accept(payload: Uint8Array, from: string): ReceiptAcceptance {
    const queue = this.#queue;
    if (!this.#running || queue === undefined) throw new OrbitfedError('ORBITFED_RECEIPTS_STOPPED', 'the receipt gateway is not running');
    let signed: SignedReceipt;
    try {
      signed = decodeSignedReceipt(payload);
    } catch (error) {
      if (!(error instanceof OrbitfedError)) throw error;
      this.#counts.malformed += 1;
      this.#metrics?.received.inc({ result: 'malformed' });
      this.#log.warn({ from, sizeBytes: payload.byteLength, code: error.code, error: error.message }, 'malformed receipt refused');
      return { accepted: false, code: error.code, message: error.message };
    }
    const name = receiptKey(signed.receipt);
    const outcome = queue.put(name, payload, this.#clock.now());
    const duplicate = outcome === 'duplicate';
    if (duplicate) this.#counts.duplicates += 1;
    else this.#counts.received += 1;
    this.#metrics?.received.inc({ result: outcome });
    this.#metrics?.pending.set(queue.size);
    this.#log.info({ receipt: name, jobId: signed.receipt.jobId, from, duplicate }, 'receipt queued for the validators');
    if (!duplicate) this.#wake();
    return { accepted: true, name, duplicate };
  }

  stats(): ReceiptGatewayStats {
    return {
      pending: this.#queue?.size ?? 0,
      ...this.#counts,
      answered: { ...this.#answered },
      retryDelayMs: this.#retryDelayMs,
      lastError: this.#lastError,
    };
  }

  /** A new receipt: start a round now unless one is under way or a retry delay is running. */
  #wake(): void {
    if (this.#round !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#retryDelayMs === 0) this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimer(delayMs as DurationMs, () => {
      this.#timer = undefined;
      this.#startRound();
    });
  }

  #startRound(): void {
    if (!this.#running || this.#round !== undefined) return;
    this.#again = false;
    this.#round = this.#submitRound().then(
      (next) => {
        this.#round = undefined;
        if (next === 'idle' && this.#again) this.#schedule(0);
        else if (next === 'more') this.#schedule(0);
        else if (next === 'retry') this.#schedule(this.#retryDelayMs);
      },
      (error: unknown) => {
        // A bug or a disk error: keep the gateway alive and try again after the backoff.
        this.#round = undefined;
        this.#failed(`round failed: ${(error as Error).message}`);
        this.#log.error({ error: (error as Error).message, code: (error as OrbitfedError).code }, 'receipt round failed');
        this.#schedule(this.#retryDelayMs);
      },
    );
  }

  /** One submission; says what should follow. */
  async #submitRound(): Promise<'idle' | 'more' | 'retry' | 'stopped'> {
    const queue = this.#queue;
    if (!this.#running || queue === undefined) return 'stopped';
    const batch = queue.oldest(this.#limits.batchMax);
    if (batch.length === 0) return 'idle';
    const txs: Uint8Array[] = [];
    const rows: typeof batch = [];
    for (const row of batch) {
      try {
        txs.push(encodeTransaction({ kind: 'settle-receipt', receipt: decodeSignedReceipt(row.bytes) }));
        rows.push(row);
      } catch (error) {
        // Only a damaged queue file could get here: the bytes were decoded before they were stored.
        this.#log.error({ receipt: row.name, error: (error as Error).message }, 'a queued receipt no longer decodes; dropped');
        queue.remove(row.sha256);
      }
    }
    if (txs.length === 0) return 'more';
    const client = this.#options.validators[this.#validator % this.#options.validators.length]!;
    let answers: SubmittedTx[];
    try {
      answers = await client.submit(txs, { waitForCommit: true, timeoutMs: this.#limits.commitWaitMs, signal: this.#abort.signal });
    } catch (error) {
      if (!this.#running) return 'stopped';
      const message = `${client.baseUrl}: ${(error as Error).message}`;
      for (const row of rows) queue.recordFailure(row.sha256, message);
      this.#validator += 1;
      this.#failed(message);
      this.#log.warn({ validator: client.baseUrl, code: (error as OrbitfedError).code, error: (error as Error).message, pending: queue.size, retryInMs: this.#retryDelayMs }, 'validators not reachable; receipts stay queued');
      return 'retry';
    }
    if (!this.#running) return 'stopped';
    if (answers.length !== rows.length) {
      this.#failed(`${client.baseUrl} answered ${answers.length} entries for ${rows.length} transactions`);
      this.#validator += 1;
      return 'retry';
    }
    let unanswered = 0;
    answers.forEach((answer, i) => {
      const row = rows[i]!;
      const outcome = outcomeOf(answer);
      if (outcome === undefined) {
        unanswered += 1;
        queue.recordFailure(row.sha256, `admission ${answer.admission}, status ${answer.status}`);
        return;
      }
      queue.remove(row.sha256);
      this.#answered[outcome] += 1;
      this.#metrics?.answered.inc({ outcome });
      const fields = { receipt: row.name, outcome, height: answer.height, code: answer.code, log: answer.log, attempts: row.attempts + 1 };
      if (outcome === 'rejected' || outcome === 'malformed') this.#log.warn(fields, 'the validators refused a receipt');
      else this.#log.info(fields, 'receipt answered by the validators');
      this.#options.onAnswered?.({ name: row.name, sha256: row.sha256, outcome, height: answer.height, code: answer.code, log: answer.log });
    });
    this.#metrics?.pending.set(queue.size);
    if (unanswered > 0) {
      this.#failed(`${unanswered} of ${rows.length} receipts not committed yet (mempool full or slow)`);
      return 'retry';
    }
    this.#retryDelayMs = 0;
    this.#lastError = undefined;
    return 'more';
  }

  #failed(message: string): void {
    this.#counts.failedRounds += 1;
    this.#metrics?.failedRounds.inc();
    this.#lastError = message;
    this.#retryDelayMs = this.#retryDelayMs === 0 ? this.#limits.retryDelayMs : Math.min(this.#retryDelayMs * 2, this.#limits.retryDelayMaxMs);
  }
}

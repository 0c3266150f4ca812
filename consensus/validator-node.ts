// The validator's shell around the sans-IO Tendermint core (tendermint.ts): it feeds the core
// messages, timeouts and gossip ticks on an injected Clock, carries out what the core asks (send,
// schedule, keep the valid block, catch a peer up), executes decided blocks on the application
// (the ledger, behind the ABCI-shaped port), stores them, and keeps the mempool. The transport is a
// port (`ValidatorTransport`): libp2p in the validator process (validator-transport.ts), an
// in-memory network with faults in tests.
//
// A decided height, in order (Algorithm 1, L49–54, with CometBFT's order of effects):
//   1. FinalizeBlock on the application (results, app hash);
//   2. the block, its commit and app hash go to the chain store (durable: a restart resumes after it);
//   3. Commit on the application; transaction results indexed; waiting clients told; mempool pruned;
//      every `snapshotEveryBlocks` heights the ledger is snapshotted into the chain store;
//   4. after `commitDelayMs` (CometBFT's timeout_commit: a block time floor, so that blocks are
//      fuller and an idle chain does not spin) or, when the block was empty and the mempool is too,
//      after up to `emptyBlockIntervalMs` (woken early by a transaction, or by a peer's proposal or
//      vote for the next height), the core moves to the next height. Messages for that height
//      wait in the core's bounded future buffer meanwhile.
// A restart restores the newest snapshot, replays the stored blocks after it (each app hash checked
// against the stored one), and hands the core what it must not forget: the sign guard's lock and
// signatures, the valid block, committed evidence, the last commit.
import assert from 'node:assert/strict';
import { OrbitfedError, type Clock, type DurationMs, type Logger, type TimerHandle, silentLogger } from '../common/index.ts';
import { hexOf } from './binary-layout.ts';
import type { Block } from './block.ts';
import type { ChainStore } from './chain-store.ts';
import type { ValidatorMessage } from './consensus-codec.ts';
import { DecodedTransactions } from './decoded-transactions.ts';
import { misbehaviorOf } from './evidence.ts';
import { LedgerApplication, txHashOf, txHashesOf, type LedgerApplicationOptions } from './ledger-application.ts';
import { Ledger } from './ledger.ts';
import { Mempool, type MempoolAdmission, type MempoolLimits } from './mempool.ts';
import { receiptSigningBytes } from './receipt.ts';
import type { SignatureJob, SignaturePrecheck } from './signature-worker-pool.ts';
import { SignatureVerdicts } from './signature-verdicts.ts';
import { SignGuard, type SignStateStore } from './sign-guard.ts';
import {
  TendermintCore, TENDERMINT_LIMITS_DEFAULT, TIMEOUTS_DEFAULT, type CoreInput, type CoreOutput, type TendermintLimits, type TimeoutConfig,
} from './tendermint.ts';
import type { Commit, Signer, VerifySignature } from './tendermint-messages.ts';
import { prioritiesAtHeight, type ValidatorSet } from './validator-set.ts';
import type { ExecTxResult } from './abci.ts';

/** How validators reach each other; best effort (the core tolerates loss and its gossip repairs it). */
export interface ValidatorTransport {
  send(toAddress: string, message: ValidatorMessage): void;
  broadcast(message: ValidatorMessage): void;
  /** Registers the one receiver; `fromAddress` is the authenticated sender's validator address. */
  onMessage(receiver: (fromAddress: string, message: ValidatorMessage) => void): void;
}

export interface ValidatorNodeConfig {
  readonly chainId: string;
  readonly validators: ValidatorSet;
  readonly ownAddress: string;
  readonly genesisTimeMs: number;
  readonly timeouts?: TimeoutConfig;
  readonly limits?: TendermintLimits;
  /** Gossip tick period (re-sends a stalled round's messages, asks peers ahead for commits); default 500 ms. */
  readonly gossipIntervalMs?: number;
  /** Floor between a decision and the next height (timeout_commit); default 100 ms. */
  readonly commitDelayMs?: number;
  /** An empty block is followed by the next one after this, unless a transaction arrives; default 1,000 ms. */
  readonly emptyBlockIntervalMs?: number;
  /** Ledger snapshot period in heights (restart cost vs. pause while snapshotting); default 1,000. */
  readonly snapshotEveryBlocks?: number;
  readonly mempool?: MempoolLimits;
  /** Batching of mempool gossip: at most this many transactions per message; default 1,000. */
  readonly txGossipBatchMax?: number;
  /** Transaction results remembered for clients (oldest forgotten first); default 500,000. */
  readonly txResultsRemembered?: number;
  /** Ledger node id of each validator, for slashing committed evidence. */
  readonly nodeOfValidator?: ReadonlyMap<string, string>;
  /**
   * Most transactions in a block this validator proposes; default 2,000. Every validator executes
   * each block between a decision and the next proposal, so this bounds that pause (and a
   * transaction's wait behind a large block); throughput is bounded by it only over the fixed
   * cost of a height (a few message delays, one fsync, commitDelayMs).
   */
  readonly proposalTxsMax?: number;
  /** Signature verdicts remembered (receipts verified at admission are not verified again in FinalizeBlock); default 100,000. */
  readonly signatureVerdictsMax?: number;
}

export interface ValidatorNodeDeps {
  readonly clock: Clock;
  /** The validator's key; wrapped in a SignGuard over `signStateStore`. */
  readonly key: Signer;
  readonly verify: VerifySignature;
  readonly signStateStore: SignStateStore;
  readonly chainStore: ChainStore;
  readonly transport: ValidatorTransport;
  /** The ledger at genesis (parameters and genesis transactions applied). */
  readonly genesisLedger: () => Ledger;
  /**
   * Where receipt signatures are verified while their transactions wait in the mempool (worker
   * threads in the validator process); without it FinalizeBlock verifies them all.
   */
  readonly signaturePrecheck?: SignaturePrecheck;
  readonly logger?: Logger;
}

/** What became of a transaction, for clients. */
export type TxStatus =
  | { readonly status: 'pending' }
  | { readonly status: 'committed'; readonly height: number; readonly index: number; readonly code: number; readonly log: string }
  | { readonly status: 'unknown' };

export interface CommittedBlockInfo {
  readonly height: number;
  readonly blockId: string;
  readonly timeMs: number;
  readonly txs: number;
  readonly appHash: string;
  readonly round: number;
}

const COMMITS_PER_REQUEST = 8;
/** Catch-up requests after a start, CATCH_UP_RETRY_MS apart, until the first decision past the stored chain. */
const CATCH_UP_REQUESTS_MAX = 8;
const CATCH_UP_RETRY_MS = 200;
export const PROPOSAL_TXS_MAX_DEFAULT = 2000;
const PENDING_COMMITS_MAX = 64;
const TX_WAITERS_MAX = 200_000;

export class ValidatorNode {
  readonly #config: ValidatorNodeConfig;
  readonly #deps: ValidatorNodeDeps;
  readonly #log: Logger;
  readonly #mempool: Mempool;
  /** Shared by the mempool and the application: each transaction is decoded once here. */
  readonly #decoded = new DecodedTransactions();
  /** Shared by the admission precheck and FinalizeBlock: each signature is verified once. */
  readonly #verdicts: SignatureVerdicts;
  #precheckJobs: SignatureJob[] = [];
  readonly #timers = new Set<TimerHandle>();
  readonly #pendingCommits = new Map<number, { block: Block; commit: Commit }>();
  readonly #txResults = new Map<string, { height: number; index: number; code: number; log: string }>();
  readonly #waiters = new Map<string, ((status: TxStatus) => void)[]>();
  readonly #committedListeners = new Set<(info: CommittedBlockInfo) => void>();
  #waiterCount = 0;
  #gossipQueue: Uint8Array[] = [];
  #gossipScheduled = false;
  #app: LedgerApplication | null = null;
  #core: TendermintCore | null = null;
  #running = false;
  /** Set while waiting out commitDelayMs / emptyBlockIntervalMs: the app hash to hand the core. */
  #nextHeight: { readonly appHash: string; readonly timer: TimerHandle; readonly empty: boolean } | null = null;
  #lastCommitted: CommittedBlockInfo | null = null;
  /** When the core entered its current height (for the per-block timing log). */
  #heightEnteredMs = 0;

  constructor(config: ValidatorNodeConfig, deps: ValidatorNodeDeps) {
    assert.ok(config.validators.indexByAddress.has(config.ownAddress), 'the validator is in the set');
    this.#config = config;
    this.#deps = deps;
    this.#log = (deps.logger ?? silentLogger()).child({ component: 'validator' });
    this.#mempool = new Mempool(config.mempool, this.#decoded);
    this.#verdicts = new SignatureVerdicts(config.signatureVerdictsMax);
  }

  get height(): number {
    return this.#core?.height ?? this.#deps.chainStore.height + 1;
  }

  get ledger(): Ledger {
    assert.ok(this.#app !== null, 'the node is started');
    return this.#app.ledger;
  }

  get mempoolSize(): number {
    return this.#mempool.size;
  }

  get lastCommitted(): CommittedBlockInfo | null {
    return this.#lastCommitted;
  }

  status(): { height: number; round: number; step: string; lastCommitted: CommittedBlockInfo | null; mempoolTxs: number } {
    return { height: this.height, round: this.#core?.round ?? 0, step: this.#core?.step ?? 'stopped', lastCommitted: this.#lastCommitted, mempoolTxs: this.#mempool.size };
  }

  /** A stored block's summary, or undefined when not stored (or pruned). */
  blockSummary(height: number): CommittedBlockInfo | undefined {
    if (!Number.isSafeInteger(height) || height < 1) return undefined;
    const stored = this.#deps.chainStore.block(height);
    if (stored === undefined) return undefined;
    return { height, blockId: stored.blockId, timeMs: stored.block.header.timeMs, txs: stored.block.txs.length, appHash: stored.appHash, round: stored.commit.round };
  }

  onCommitted(listener: (info: CommittedBlockInfo) => void): () => void {
    this.#committedListeners.add(listener);
    return () => this.#committedListeners.delete(listener);
  }

  /** Restores the application from the chain store and starts the core at the next height. */
  start(): void {
    assert.ok(!this.#running, 'a validator node starts once');
    const store = this.#deps.chainStore;
    const startedMs = this.#deps.clock.now();
    const cpuBefore = process.threadCpuUsage();
    const { ledger, fromHeight } = this.#restoreLedger();
    const appOptions: LedgerApplicationOptions = { chainId: this.#config.chainId, decoded: this.#decoded, verifySignature: this.#verdicts.verify,
      proposalTxsMax: this.#config.proposalTxsMax ?? PROPOSAL_TXS_MAX_DEFAULT, ...(this.#config.nodeOfValidator ? { nodeOfValidator: this.#config.nodeOfValidator } : {}) };
    const app = new LedgerApplication(ledger, appOptions);
    for (let h = fromHeight + 1; h <= store.height; h++) {
      const stored = store.block(h);
      if (stored === undefined) throw new OrbitfedError('ORBITFED_STORE_CORRUPT', `block ${h} is missing from the chain store (it holds up to ${store.height})`);
      const response = app.finalizeBlock({ block: stored.block, blockId: stored.blockId, misbehavior: this.#misbehavior(stored.block) });
      app.commit();
      if (response.appHash !== stored.appHash) {
        throw new OrbitfedError('ORBITFED_STATE_DIVERGED', `replaying block ${h} gives app hash ${response.appHash.slice(0, 16)}…, the store says ${stored.appHash.slice(0, 16)}…`);
      }
    }
    this.#app = app;
    const height = store.height + 1;
    const last = store.height > 0 ? store.block(store.height) : undefined;
    // What this validator last committed is its newest stored block (restored and, when replayed,
    // checked against its app hash): clients see the height it is at from the start, not nothing
    // until the next decision.
    this.#lastCommitted = last === undefined ? null : {
      height: store.height, blockId: last.blockId, timeMs: last.block.header.timeMs, txs: last.block.txs.length, appHash: last.appHash, round: last.commit.round,
    };
    const guard = new SignGuard(this.#deps.signStateStore, this.#deps.key, this.#config.chainId);
    const limits = this.#config.limits ?? TENDERMINT_LIMITS_DEFAULT;
    this.#core = new TendermintCore(
      {
        chainId: this.#config.chainId, validators: this.#config.validators, ownAddress: this.#config.ownAddress, genesisTimeMs: this.#config.genesisTimeMs,
        timeouts: this.#config.timeouts ?? TIMEOUTS_DEFAULT, limits,
      },
      { signer: guard, verify: this.#deps.verify, application: app, mempool: (maxTxBytes) => this.#mempool.take(maxTxBytes) },
      {
        height,
        previousBlockId: last?.blockId ?? null,
        // The genesis ledger is built again only on a first start (a restart has its last block).
        previousAppHash: last?.appHash ?? this.#genesisAppHash(),
        previousTimeMs: last?.block.header.timeMs ?? this.#config.genesisTimeMs,
        lastCommit: last?.commit ?? null,
        priorities: prioritiesAtHeight(this.#config.validators, height),
        lock: guard.lockFor(height),
        signed: guard.signedAt(height),
        validBlock: store.validBlock(height),
        committedEvidence: store.committedEvidence(height - limits.evidenceAgeHeightsMax),
      },
    );
    this.#running = true;
    this.#heightEnteredMs = this.#deps.clock.now();
    this.#deps.transport.onMessage((from, message) => this.#receive(from, message));
    const cpu = process.threadCpuUsage(cpuBefore);
    this.#log.info({
      height, replayed: store.height - fromHeight, restoreMs: this.#deps.clock.now() - startedMs, restoreCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    }, 'validator started');
    this.#run({ kind: 'start' });
    // A restarted validator is usually behind: ask everyone for what follows our chain now rather
    // than after the core notices it is stalled (two gossip ticks). Peers without it answer nothing.
    if (store.height > 0) this.#requestCatchUp(height, CATCH_UP_REQUESTS_MAX);
    this.#scheduleGossipTick();
  }

  stop(): void {
    this.#running = false;
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.#nextHeight = null;
    for (const [, waiters] of this.#waiters) for (const w of waiters) w({ status: 'pending' });
    this.#waiters.clear();
    this.#waiterCount = 0;
  }

  /** Takes a ledger snapshot now (on graceful shutdown, so that a restart replays nothing). */
  snapshotNow(): void {
    if (this.#app === null || this.#deps.chainStore.height === 0) return;
    const height = this.#deps.chainStore.height;
    if (this.#deps.chainStore.snapshotHeads()[0]?.height === height) return;
    this.#snapshot(height);
  }

  /** Admits a client's transaction (and gossips it to the other validators). */
  submit(tx: Uint8Array): { hash: string; admission: MempoolAdmission } {
    const hash = txHashOf(tx);
    if (this.#txResults.has(hash)) return { hash, admission: 'committed' };
    const admission = this.#mempool.add(tx, hash);
    if (admission === 'added') {
      this.#precheck(tx, hash);
      this.#gossipQueue.push(tx);
      this.#scheduleTxGossip();
      this.#wakeForTransactions();
    }
    return { hash, admission };
  }

  txStatus(hash: string): TxStatus {
    const result = this.#txResults.get(hash);
    if (result !== undefined) return { status: 'committed', ...result };
    return { status: 'unknown' };
  }

  /** Resolves once `hash` is committed, or with its current status when `signal` aborts. */
  waitForTx(hash: string, signal: AbortSignal): Promise<TxStatus> {
    const now = this.txStatus(hash);
    if (now.status === 'committed') return Promise.resolve(now);
    if (this.#waiterCount >= TX_WAITERS_MAX) return Promise.resolve({ status: 'pending' });
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(hash) ?? [];
      const waiter = (status: TxStatus): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(status);
      };
      const onAbort = (): void => {
        const list = this.#waiters.get(hash);
        if (list !== undefined) {
          const i = list.indexOf(waiter);
          if (i >= 0) {
            list.splice(i, 1);
            this.#waiterCount--;
          }
          if (list.length === 0) this.#waiters.delete(hash);
        }
        resolve({ status: 'pending' });
      };
      waiters.push(waiter);
      this.#waiterCount++;
      this.#waiters.set(hash, waiters);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ——— restore ———

  #restoreLedger(): { ledger: Ledger; fromHeight: number } {
    for (const head of this.#deps.chainStore.snapshotHeads()) {
      if (head.height > this.#deps.chainStore.height) continue;
      const snapshot = this.#deps.chainStore.snapshot(head.height);
      if (snapshot === undefined) continue;
      try {
        const ledger = Ledger.restore(snapshot.bytes);
        if (hexOf(ledger.stateHash()) !== snapshot.appHash) throw new OrbitfedError('ORBITFED_STORE_CORRUPT', 'snapshot state hash differs from its app hash');
        return { ledger, fromHeight: snapshot.height };
      } catch (error) {
        if (!(error instanceof OrbitfedError)) throw error;
        this.#log.warn({ height: snapshot.height, error: error.message }, 'snapshot unusable; trying an older one');
      }
    }
    return { ledger: this.#deps.genesisLedger(), fromHeight: 0 };
  }

  #genesisAppHash(): string {
    return hexOf(this.#deps.genesisLedger().stateHash());
  }

  #misbehavior(block: Block): ReturnType<typeof misbehaviorOf>[] {
    return block.evidence.map((e) => misbehaviorOf(this.#config.validators, e));
  }

  // ——— the core's inputs and outputs ———

  #run(input: CoreInput): void {
    if (!this.#running || this.#core === null) return;
    this.#apply(this.#core.handle(input, this.#deps.clock.now()));
  }

  #apply(outputs: readonly CoreOutput[]): void {
    for (const output of outputs) {
      if (!this.#running) return;
      switch (output.kind) {
        case 'broadcast':
          this.#deps.transport.broadcast(output.message);
          break;
        case 'schedule-timeout':
          this.#after(output.delayMs, () => this.#run({ kind: 'timeout', timeout: output.timeout }));
          break;
        case 'decide':
          this.#decide(output.height, output.blockId, output.block, output.commit);
          break;
        case 'valid-block':
          this.#deps.chainStore.saveValidBlock(output.height, output.record);
          break;
        case 'evidence':
          this.#log.warn({ validator: output.evidence.voteA.validatorAddress, height: output.evidence.voteA.height }, 'duplicate vote: evidence found');
          this.#deps.transport.broadcast({ kind: 'evidence', evidence: output.evidence });
          break;
        case 'send-commit':
          this.#sendCommits(output.to, output.height);
          break;
        case 'request-commit':
          this.#deps.transport.send(output.to, { kind: 'commit-request', height: output.height });
          break;
        case 'rejected':
          this.#log.debug({ code: output.code }, output.message);
          break;
        case 'sign-refused':
          this.#log.warn({ code: output.code }, output.message);
          break;
      }
    }
  }

  #after(delayMs: number, run: () => void): TimerHandle {
    const timer = this.#deps.clock.setTimer(delayMs as DurationMs, () => {
      this.#timers.delete(timer);
      if (this.#running) run();
    });
    this.#timers.add(timer);
    return timer;
  }

  /**
   * Asks every peer for the commits from `height` on, again every CATCH_UP_RETRY_MS until this
   * validator decides past it (at most `attempts` times): the first request leaves while the
   * connections to the peers are still being made, and a failed dial drops what was queued, which
   * left a restarted validator waiting a second or two for the core to notice it was behind.
   */
  #requestCatchUp(height: number, attempts: number): void {
    if (!this.#running || this.#core === null || this.#core.height > height || attempts <= 0) return;
    this.#deps.transport.broadcast({ kind: 'commit-request', height });
    this.#after(CATCH_UP_RETRY_MS, () => this.#requestCatchUp(height, attempts - 1));
  }

  #scheduleGossipTick(): void {
    this.#after(this.#config.gossipIntervalMs ?? 500, () => {
      this.#run({ kind: 'gossip-tick' });
      this.#scheduleGossipTick();
    });
  }

  #receive(from: string, message: ValidatorMessage): void {
    if (!this.#running || this.#core === null) return;
    switch (message.kind) {
      case 'proposal':
      case 'vote':
        // A peer already at the next height while this validator waits out an idle chain's
        // interval: the chain is not idle (the peer has transactions whose gossip never came here,
        // or its own wait ended first). Go on after the ordinary block time, as for a transaction.
        if ((message.kind === 'proposal' ? message.proposal.height : message.vote.height) === this.#core.height + 1) this.#wakeForTransactions();
        this.#run(message);
        return;
      case 'evidence':
        this.#run(message);
        return;
      case 'commit': {
        const height = message.commit.height;
        if (height === this.#core.height && !this.#core.awaitingCommit) this.#run(message);
        else if (height > this.#core.height && this.#pendingCommits.size < PENDING_COMMITS_MAX) {
          this.#pendingCommits.set(height, message);
          if (height === this.#core.height + 1) this.#hurryToNextHeight();
        }
        return;
      }
      case 'commit-request':
        this.#sendCommits(from, message.height);
        return;
      case 'txs': {
        let added = 0;
        for (const tx of message.txs) {
          const hash = txHashOf(tx);
          if (this.#mempool.add(tx, hash) !== 'added') continue;
          this.#precheck(tx, hash);
          added++;
        }
        if (added > 0) this.#wakeForTransactions();
        return;
      }
    }
  }

  #sendCommits(to: string, fromHeight: number): void {
    const store = this.#deps.chainStore;
    for (let h = Math.max(fromHeight, 1); h < fromHeight + COMMITS_PER_REQUEST && h <= store.height; h++) {
      const stored = store.block(h);
      if (stored === undefined) continue;
      this.#deps.transport.send(to, { kind: 'commit', block: stored.block, commit: stored.commit });
    }
  }

  #decide(height: number, blockId: string, block: Block, commit: Commit): void {
    const app = this.#app!;
    const clock = this.#deps.clock;
    const decidedMs = clock.now();
    const hashes = txHashesOf(block.txs);
    const response = app.finalizeBlock({ block, blockId, misbehavior: this.#misbehavior(block), txHashes: hashes });
    const executedMs = clock.now();
    this.#deps.chainStore.append({ height, blockId, block, commit, appHash: response.appHash });
    const storedMs = clock.now();
    app.commit();
    this.#indexResults(height, hashes, response.txResults);
    this.#mempool.committed(hashes);
    const every = this.#config.snapshotEveryBlocks ?? 1000;
    if (height % every === 0) this.#snapshot(height);
    // Where a height's time goes (logLevel debug; how the finality of issue 6 was traced):
    // agreeing on the block (entering the height → decision: proposal, its transfer and checks,
    // two voting steps), executing it (FinalizeBlock), storing it (one fsynced SQLite
    // transaction), the rest (results to waiting clients, mempool pruning, a periodic snapshot);
    // and, since the start, receipt signatures whose verdict FinalizeBlock found ready (verified
    // by the workers while waiting) or had to compute.
    this.#log.debug({
      height, txs: block.txs.length, round: commit.round, proposedAtMs: block.header.timeMs,
      agreeMs: decidedMs - this.#heightEnteredMs, executeMs: executedMs - decidedMs, storeMs: storedMs - executedMs, afterMs: clock.now() - storedMs,
      signaturesVerifiedBefore: this.#verdicts.stats.hits, signaturesVerifiedInBlock: this.#verdicts.stats.misses,
    }, 'block committed');
    const info: CommittedBlockInfo = { height, blockId, timeMs: block.header.timeMs, txs: block.txs.length, appHash: response.appHash, round: commit.round };
    this.#lastCommitted = info;
    for (const listener of this.#committedListeners) listener(info);
    const empty = block.txs.length === 0 && this.#mempool.size === 0;
    // Behind the others (the commit of the next height is here already): no block-time floor, whose
    // purpose is the next proposal's; that height is decided, so waiting only delays the catch-up.
    const behind = this.#pendingCommits.has(height + 1);
    const delayMs = behind ? 0 : empty ? (this.#config.emptyBlockIntervalMs ?? 1000) : (this.#config.commitDelayMs ?? 100);
    const timer = this.#after(delayMs, () => this.#enterNextHeight());
    this.#nextHeight = { appHash: response.appHash, timer, empty };
  }

  /**
   * A transaction arrived, or a peer's proposal or vote for the next height, while an empty chain
   * waits: the chain is not idle, move on after the ordinary commit delay.
   */
  #wakeForTransactions(): void {
    if (this.#nextHeight?.empty !== true) return;
    this.#enterNextHeightAfter(this.#config.commitDelayMs ?? 100, false);
  }

  /** The commit of the next height arrived while waiting out the block-time floor: this validator is behind, go on now. */
  #hurryToNextHeight(): void {
    if (this.#nextHeight === null) return;
    this.#enterNextHeightAfter(0, this.#nextHeight.empty);
  }

  /** Replaces the wait for the next height (which must be under way) with one of `delayMs` from now. */
  #enterNextHeightAfter(delayMs: number, empty: boolean): void {
    const next = this.#nextHeight!;
    next.timer.cancel();
    this.#timers.delete(next.timer);
    const timer = this.#after(delayMs, () => this.#enterNextHeight());
    this.#nextHeight = { appHash: next.appHash, timer, empty };
  }

  #enterNextHeight(): void {
    const next = this.#nextHeight;
    const core = this.#core;
    if (next === null || core === null) return;
    this.#nextHeight = null;
    this.#heightEnteredMs = this.#deps.clock.now();
    this.#apply(core.commitHeight(next.appHash, this.#heightEnteredMs));
    const pending = this.#pendingCommits.get(core.height);
    for (const h of this.#pendingCommits.keys()) if (h <= core.height) this.#pendingCommits.delete(h);
    if (pending !== undefined && !core.awaitingCommit) this.#run({ kind: 'commit', block: pending.block, commit: pending.commit });
  }

  #snapshot(height: number): void {
    const ledger = this.#app!.ledger;
    const startedMs = this.#deps.clock.now();
    this.#deps.chainStore.saveSnapshot({ height, appHash: hexOf(ledger.stateHash()), bytes: ledger.snapshot() });
    this.#log.info({ height, snapshotMs: this.#deps.clock.now() - startedMs }, 'ledger snapshot stored');
  }

  #indexResults(height: number, hashes: readonly string[], results: readonly ExecTxResult[]): void {
    const limit = this.#config.txResultsRemembered ?? 500_000;
    hashes.forEach((hash, index) => {
      const result = { height, index, code: results[index]!.code, log: results[index]!.log };
      this.#txResults.set(hash, result);
      const waiters = this.#waiters.get(hash);
      if (waiters !== undefined) {
        this.#waiters.delete(hash);
        this.#waiterCount -= waiters.length;
        for (const w of waiters) w({ status: 'committed', ...result });
      }
    });
    let excess = this.#txResults.size - limit;
    for (const hash of this.#txResults.keys()) {
      if (excess-- <= 0) break;
      this.#txResults.delete(hash);
    }
  }

  /**
   * Hands a receipt's signature to the precheck workers (verified under the key its epoch names
   * now; key epochs never change their key, so the verdict holds when the block executes). The
   * jobs of one submission or gossip message go as one batch, at the end of the current task.
   */
  #precheck(tx: Uint8Array, hash: string): void {
    const precheck = this.#deps.signaturePrecheck;
    if (precheck === undefined || this.#app === null) return;
    const decoded = this.#decoded.decode(tx, hash);
    if (decoded === null || decoded.kind !== 'settle-receipt') return;
    const { receipt, signature } = decoded.receipt;
    const key = this.#app.ledger.node(receipt.nodeId)?.keys[receipt.keyEpoch];
    if (key === undefined) return;
    const message = receiptSigningBytes(receipt);
    if (this.#verdicts.has(key.publicKey, message, signature)) return;
    if (this.#precheckJobs.length === 0) queueMicrotask(() => this.#flushPrecheck(precheck));
    this.#precheckJobs.push({ publicKey: key.publicKey, message, signature });
  }

  #flushPrecheck(precheck: SignaturePrecheck): void {
    const jobs = this.#precheckJobs;
    this.#precheckJobs = [];
    precheck.check(jobs, {
      skip: (job) => this.#verdicts.has(job.publicKey, job.message, job.signature),
      verified: (job, valid) => this.#verdicts.record(job.publicKey, job.message, job.signature, valid),
    });
  }

  /** Signature verdicts answered from memory (verified at admission) and verified in FinalizeBlock. */
  get signatureStats(): { readonly hits: number; readonly misses: number } {
    return this.#verdicts.stats;
  }

  #scheduleTxGossip(): void {
    if (this.#gossipScheduled) return;
    this.#gossipScheduled = true;
    this.#after(10, () => {
      this.#gossipScheduled = false;
      const batchMax = this.#config.txGossipBatchMax ?? 1000;
      while (this.#gossipQueue.length > 0) {
        const txs = this.#gossipQueue.splice(0, batchMax);
        this.#deps.transport.broadcast({ kind: 'txs', txs });
      }
    });
  }
}

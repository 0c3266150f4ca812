// A deterministic, single-process simulation of n validators running the real Tendermint core
// (tendermint.ts), sign guard and block execution, in virtual time over a seeded network model, as
// TigerBeetle's VOPR runs a cluster: one seed fixes every drop, delay, partition, crash and
// Byzantine choice, so a failing seed replays exactly, and the trace hash proves it.
//
// The run has two phases:
// - Fault phase (GST not reached): each message is dropped with the run's drop probability
//   (≤ 30 %), duplicated with its duplicate probability (≤ 50 %), delayed uniformly (so reordered);
//   the validators are split by partitions for a few seconds at a time; correct validators crash
//   (losing everything but their "disk": the sign-guard state, their stored blocks and commits, and
//   the last valid block and its proof-of-lock the core asked them to keep) and restart later,
//   replaying their blocks into a fresh application.
// - Healed phase (after GST): no drops, partitions or crashes; every message arrives within the
//   delay bound. Byzantine validators keep misbehaving in both phases.
// Byzantine validators run the same core without a sign guard and equivocate:
// - "split-brain": the correct validators are split into two fixed groups. A Byzantine proposer
//   sends each group a different valid block, and every Byzantine validator prevotes and precommits
//   one block to one group and the other block to the other group at once. With at most f Byzantine
//   validators this cannot gather a quorum on either side; with f + 1 it can, and two correct
//   validators decide different blocks: the attack the checker must catch.
// - "noisy": every vote is sent together with a conflicting one (nil for a value, a made-up block
//   id for nil) to every correct validator, which turns them into duplicate-vote evidence.
// After every decision the checker verifies agreement (no two correct validators decide different
// blocks at a height), validity (decided blocks carry only transactions that were submitted and are
// well formed), identical application hashes on correct validators at every height, and that
// committed evidence only ever names Byzantine validators. After the heal, every correct validator
// must decide a few more heights (liveness after GST) before a deadline.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { seededRng } from '../common/index.ts';
import type { Application } from './abci.ts';
import { hexOf } from './binary-layout.ts';
import { blockIdOf, makeBlock, type Block } from './block.ts';
import { evidenceKey, evidenceHeight, misbehaviorOf, type DuplicateVoteEvidence } from './evidence.ts';
import { MemorySignStateStore, SignGuard } from './sign-guard.ts';
import {
  TendermintCore, TIMEOUTS_DEFAULT, type ConsensusMessage, type CoreOutput, type TimeoutConfig, type ValidBlockRecord,
} from './tendermint.ts';
import {
  proposalSignBytes, voteSignBytes, type Commit, type Proposal, type Signer, type VerifySignature, type Vote,
} from './tendermint-messages.ts';
import { nextHeightPriorities, prioritiesAtHeight, validatorSet, type ProposerPriorities, type ValidatorSet } from './validator-set.ts';

export type ByzantineStrategy = 'split-brain' | 'noisy';

/** The signature scheme of a run: real ed25519, or a fast stand-in for large seed sweeps. */
export interface SimulationSignatures {
  readonly publicKeys: readonly Uint8Array[];
  signer(index: number): Signer;
  readonly verify: VerifySignature;
}

/** Transactions the run submits, and what the checker accepts in a decided block. */
export interface SimulationWorkload {
  makeTx(sequence: number): Uint8Array;
  /** A transaction the application must refuse (a Byzantine proposer sometimes includes one). */
  makeInvalidTx(): Uint8Array;
}

export interface NetworkFaults {
  /** Per-message loss during the fault phase, 0–0.3. */
  readonly dropProbability: number;
  /** Per-message duplication, 0–0.5 (both phases: duplicates are harmless after GST too). */
  readonly duplicateProbability: number;
  readonly delayMsMin: number;
  /** Δ: the largest delay, in both phases. */
  readonly delayMsMax: number;
  readonly partitions: boolean;
  readonly crashes: boolean;
}

export interface ConsensusSimulationOptions {
  readonly seed: number;
  readonly chainId: string;
  /** Voting power per validator (4–7 validators in the federation). */
  readonly votingPowers: readonly number[];
  /** Indices of Byzantine validators. */
  readonly byzantine: readonly number[];
  readonly byzantineStrategy: ByzantineStrategy;
  readonly signatures: SimulationSignatures;
  readonly createApplication: () => Application;
  readonly workload: SimulationWorkload;
  readonly faults: NetworkFaults;
  readonly faultPhaseMs: number;
  /** Heights every correct validator must decide after the heal (beyond the highest decided at the heal). */
  readonly heightsAfterHeal: number;
  /** Deadline of the healed phase; not reaching the target by then is a liveness violation. */
  readonly healedPhaseMsMax: number;
  /** How often a Byzantine proposer's second block carries a transaction the application refuses; default 0.2. */
  readonly invalidForkProbability?: number;
  readonly timeouts?: TimeoutConfig;
  readonly gossipIntervalMs?: number;
  readonly txIntervalMs?: number;
  /** Receives every trace line (for replaying a failing seed with its story printed). */
  readonly onTrace?: (line: string) => void;
}

export interface ConsensusSimulationStats {
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
  readonly messagesDuplicated: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly roundMax: number;
  readonly signRefusals: number;
  readonly rejectedInputs: number;
  readonly evidenceFound: number;
}

export interface ConsensusSimulationResult {
  readonly seed: number;
  /** SHA-256 over the run's events (deliveries, decisions, crashes, partitions) in order. */
  readonly traceHash: string;
  /** Empty when every check held; otherwise what broke, first violation first. */
  readonly violations: readonly string[];
  /** Decided heights per validator at the end. */
  readonly heights: readonly number[];
  readonly healedAtMs: number;
  readonly endMs: number;
  readonly targetHeight: number;
  /** Addresses with committed duplicate-vote evidence. */
  readonly evidenceCommittedAgainst: readonly string[];
  readonly stats: ConsensusSimulationStats;
}

type WireMessage =
  | ConsensusMessage
  | { readonly kind: 'commit'; readonly block: Block; readonly commit: Commit }
  | { readonly kind: 'commit-request'; readonly height: number }
  | { readonly kind: 'evidence'; readonly evidence: DuplicateVoteEvidence };

interface StoredHeight {
  readonly block: Block;
  readonly blockId: string;
  readonly commit: Commit;
  readonly appHash: string;
}

interface SimEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Events in (time, insertion) order: a binary heap. */
class EventQueue {
  readonly #heap: SimEvent[] = [];
  #seq = 0;

  push(atMs: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ atMs, seq: this.#seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): SimEvent | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
    return top;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** Commits a validator that is behind receives per request (the next few heights). */
const COMMITS_PER_REQUEST = 4;
const PENDING_COMMITS_MAX = 16;
const MEMPOOL_TXS_MAX = 1000;
const EVENTS_MAX = 5_000_000;
const TXS_MAX = 100_000;
const GENESIS_TIME_MS = 1_767_225_600_000;

class SimulatedValidator {
  readonly index: number;
  readonly address: string;
  readonly byzantine: boolean;
  /** Survives crashes: the sign guard's state and the stored chain. */
  readonly signStateStore = new MemorySignStateStore();
  readonly chain: StoredHeight[] = [];
  validBlock: ValidBlockRecord | null = null;
  up = false;
  incarnation = 0;
  core: TendermintCore | null = null;
  app: Application | null = null;
  mempool: Uint8Array[] = [];
  pendingCommits = new Map<number, { block: Block; commit: Commit }>();
  forged = new Set<string>();

  constructor(index: number, address: string, byzantine: boolean) {
    this.index = index;
    this.address = address;
    this.byzantine = byzantine;
  }
}

class ConsensusSimulation {
  readonly #options: ConsensusSimulationOptions;
  readonly #rng: () => number;
  readonly #set: ValidatorSet;
  readonly #nodes: SimulatedValidator[];
  readonly #queue = new EventQueue();
  readonly #trace = createHash('sha256');
  readonly #violations: string[] = [];
  readonly #genesisAppHash: string;
  readonly #timeouts: TimeoutConfig;
  readonly #gossipIntervalMs: number;
  readonly #prioritiesByHeight: ProposerPriorities[] = [];
  // Checker state.
  readonly #decided = new Map<number, string>();
  readonly #appHashes = new Map<number, string>();
  readonly #submitted = new Set<string>();
  readonly #evidenceAgainst = new Set<string>();
  // Byzantine coordination: the two blocks of each forked (height, round).
  readonly #forks = new Map<string, { readonly a: string; readonly b: string }>();
  readonly #forkedProposals = new Map<string, Proposal>();
  readonly #groupA = new Set<number>();
  #nowMs = 0;
  #healed = false;
  #partition: Set<number> | null = null;
  #txSequence = 0;
  #stats = {
    messagesSent: 0, messagesDelivered: 0, messagesDropped: 0, messagesDuplicated: 0, crashes: 0, partitions: 0, roundMax: 0, signRefusals: 0, rejectedInputs: 0, evidenceFound: 0,
  };

  constructor(options: ConsensusSimulationOptions) {
    assert.ok(options.faults.dropProbability >= 0 && options.faults.dropProbability <= 0.3, 'drop probability is at most 30 %');
    assert.ok(options.faults.duplicateProbability >= 0 && options.faults.duplicateProbability <= 0.5, 'duplicate probability is at most 50 %');
    assert.ok(options.faults.delayMsMin >= 0 && options.faults.delayMsMax >= options.faults.delayMsMin);
    assert.equal(options.signatures.publicKeys.length, options.votingPowers.length, 'one key per validator');
    this.#options = options;
    this.#rng = seededRng(options.seed);
    this.#timeouts = options.timeouts ?? TIMEOUTS_DEFAULT;
    this.#gossipIntervalMs = options.gossipIntervalMs ?? 1000;
    const addresses = options.signatures.publicKeys.map((_, i) => (i + 1).toString(16).padStart(2, '0'));
    this.#set = validatorSet(options.votingPowers.map((votingPower, i) => ({ address: addresses[i]!, publicKey: options.signatures.publicKeys[i]!, votingPower })));
    const byzantine = new Set(options.byzantine);
    this.#nodes = addresses.map((address, i) => new SimulatedValidator(i, address, byzantine.has(i)));
    this.#genesisAppHash = options.createApplication().info().lastBlockAppHash;
    // Split-brain sides: the correct validators in a seeded order, the first half on side A.
    const correct = this.#nodes.filter((n) => !n.byzantine).map((n) => ({ index: n.index, key: this.#rng() }));
    correct.sort((a, b) => a.key - b.key).slice(0, Math.ceil(correct.length / 2)).forEach((c) => this.#groupA.add(c.index));
  }

  run(): ConsensusSimulationResult {
    const o = this.#options;
    this.#record(`seed ${o.seed} n ${this.#nodes.length} byzantine ${o.byzantine.join(',')} ${o.byzantineStrategy}`);
    for (const node of this.#nodes) this.#boot(node);
    this.#scheduleFaults();
    this.#schedule(o.faultPhaseMs, () => this.#heal());
    this.#scheduleTx(0);
    let targetHeight = Number.POSITIVE_INFINITY;
    let deadlineMs = Number.POSITIVE_INFINITY;
    for (let events = 0; ; events++) {
      assert.ok(events < EVENTS_MAX, 'the simulation must end');
      if (this.#healed && targetHeight === Number.POSITIVE_INFINITY) {
        targetHeight = Math.max(0, ...this.#correct().map((n) => n.chain.length)) + o.heightsAfterHeal;
        deadlineMs = this.#nowMs + o.healedPhaseMsMax;
      }
      if (this.#healed && this.#correct().every((n) => n.chain.length >= targetHeight)) break;
      if (this.#nowMs > deadlineMs) {
        const heights = this.#nodes.map((n) => `${n.address}${n.byzantine ? '(byz)' : ''}:${n.chain.length}${n.core === null ? ' down' : ` at h${n.core.height} r${n.core.round} ${n.core.step}`}`).join(', ');
        this.#violate(`liveness: correct validators did not reach height ${targetHeight} within ${o.healedPhaseMsMax} ms after the heal (${heights})`);
        break;
      }
      const event = this.#queue.pop();
      if (event === undefined) {
        this.#violate('liveness: nothing left to happen');
        break;
      }
      this.#nowMs = event.atMs;
      event.run();
      if (this.#violations.length > 0 && this.#violations[0]!.startsWith('agreement')) break;
    }
    return {
      seed: o.seed,
      traceHash: this.#trace.digest('hex'),
      violations: this.#violations,
      heights: this.#nodes.map((n) => n.chain.length),
      healedAtMs: o.faultPhaseMs,
      endMs: this.#nowMs,
      targetHeight,
      evidenceCommittedAgainst: [...this.#evidenceAgainst].sort(),
      stats: { ...this.#stats },
    };
  }

  // ——— Nodes ———

  #correct(): SimulatedValidator[] {
    return this.#nodes.filter((n) => !n.byzantine);
  }

  /** Proposer priorities of `height`, one run per height from genesis (cached: every validator asks). */
  #priorities(height: number): ProposerPriorities {
    const cache = this.#prioritiesByHeight;
    if (cache.length === 0) cache.push(prioritiesAtHeight(this.#set, 1));
    while (cache.length < height) cache.push(nextHeightPriorities(this.#set, cache[cache.length - 1]!));
    return cache[height - 1]!;
  }

  /** Starts (or restarts) a validator from its disk: replays stored blocks into a fresh application. */
  #boot(node: SimulatedValidator): void {
    const o = this.#options;
    node.up = true;
    node.incarnation++;
    node.mempool = [];
    node.pendingCommits = new Map();
    const app = o.createApplication();
    for (const stored of node.chain) {
      const response = app.finalizeBlock({ block: stored.block, blockId: stored.blockId, misbehavior: stored.block.evidence.map((e) => misbehaviorOf(this.#set, e)) });
      app.commit();
      assert.equal(response.appHash, stored.appHash, 'replaying stored blocks reproduces the stored app hashes');
    }
    node.app = app;
    const height = node.chain.length + 1;
    const last = node.chain[node.chain.length - 1];
    const key = o.signatures.signer(node.index);
    const guard = node.byzantine ? null : new SignGuard(node.signStateStore, key, o.chainId);
    const committedEvidence = node.chain.flatMap((s) => s.block.evidence.map((e) => ({ key: evidenceKey(e), height: evidenceHeight(e) })));
    node.core = new TendermintCore(
      { chainId: o.chainId, validators: this.#set, ownAddress: node.address, genesisTimeMs: GENESIS_TIME_MS, timeouts: this.#timeouts },
      {
        signer: guard ?? key,
        verify: o.signatures.verify,
        application: app,
        mempool: (maxTxBytes) => takeWithin(node.mempool, maxTxBytes),
      },
      {
        height,
        previousBlockId: last?.blockId ?? null,
        previousAppHash: last?.appHash ?? this.#genesisAppHash,
        previousTimeMs: last?.block.header.timeMs ?? GENESIS_TIME_MS,
        lastCommit: last?.commit ?? null,
        priorities: this.#priorities(height),
        lock: guard?.lockFor(height) ?? null,
        signed: guard?.signedAt(height) ?? [],
        validBlock: node.validBlock !== null && node.validBlock.block.header.height === height ? node.validBlock : null,
        committedEvidence,
      },
    );
    this.#record(`boot ${node.address} ${node.incarnation} h${height}`);
    this.#apply(node, node.core.handle({ kind: 'start' }, this.#now()));
    const incarnation = node.incarnation;
    const tick = (): void => {
      if (!node.up || node.incarnation !== incarnation) return;
      this.#apply(node, node.core!.handle({ kind: 'gossip-tick' }, this.#now()));
      this.#schedule(this.#gossipIntervalMs, tick);
    };
    this.#schedule(1 + Math.floor(this.#rng() * this.#gossipIntervalMs), tick);
  }

  #crash(node: SimulatedValidator): void {
    if (!node.up) return;
    node.up = false;
    node.core = null;
    node.app = null;
    this.#stats.crashes++;
    this.#record(`crash ${node.address}`);
  }

  #now(): number {
    return GENESIS_TIME_MS + this.#nowMs;
  }

  /** Carries out a core's outputs: the node shell of the simulation. */
  #apply(node: SimulatedValidator, outputs: readonly CoreOutput[]): void {
    for (const output of outputs) {
      if (!node.up) return;
      switch (output.kind) {
        case 'broadcast':
          if (node.byzantine) this.#byzantineBroadcast(node, output.message);
          else this.#broadcast(node, output.message);
          break;
        case 'schedule-timeout': {
          const incarnation = node.incarnation;
          this.#schedule(output.delayMs, () => {
            if (node.up && node.incarnation === incarnation) this.#apply(node, node.core!.handle({ kind: 'timeout', timeout: output.timeout }, this.#now()));
          });
          break;
        }
        case 'decide':
          this.#onDecide(node, output.height, output.blockId, output.block, output.commit);
          break;
        case 'valid-block':
          node.validBlock = output.record;
          break;
        case 'evidence':
          this.#stats.evidenceFound++;
          this.#broadcast(node, { kind: 'evidence', evidence: output.evidence });
          break;
        case 'send-commit':
          this.#sendCommits(node, this.#nodeByAddress(output.to), output.height);
          break;
        case 'request-commit':
          this.#send(node, this.#nodeByAddress(output.to), { kind: 'commit-request', height: output.height });
          break;
        case 'rejected':
          this.#stats.rejectedInputs++;
          break;
        case 'sign-refused':
          this.#stats.signRefusals++;
          break;
      }
    }
  }

  #nodeByAddress(address: string): SimulatedValidator {
    return this.#nodes[this.#set.indexByAddress.get(address)!]!;
  }

  #onDecide(node: SimulatedValidator, height: number, blockId: string, block: Block, commit: Commit): void {
    assert.equal(height, node.chain.length + 1, 'a validator decides its heights in order');
    this.#record(`decide ${node.address} h${height} r${commit.round} ${blockId.slice(0, 16)}`);
    this.#stats.roundMax = Math.max(this.#stats.roundMax, commit.round);
    const app = node.app!;
    const misbehavior = block.evidence.map((e) => misbehaviorOf(this.#set, e));
    const response = app.finalizeBlock({ block, blockId, misbehavior });
    app.commit();
    node.chain.push({ block, blockId, commit, appHash: response.appHash });
    const included = new Set(block.txs.map((tx) => hexOf(tx)));
    node.mempool = node.mempool.filter((tx) => !included.has(hexOf(tx)));
    if (!node.byzantine) this.#check(node, height, blockId, block, response.appHash);
    this.#apply(node, node.core!.commitHeight(response.appHash, this.#now()));
    const next = node.pendingCommits.get(node.chain.length + 1);
    if (next !== undefined && node.up && node.core !== null && !node.core.awaitingCommit) {
      node.pendingCommits.delete(node.chain.length + 1);
      this.#apply(node, node.core.handle({ kind: 'commit', block: next.block, commit: next.commit }, this.#now()));
    }
  }

  /** Agreement, validity, identical state and honest-only evidence, at every decision of a correct validator. */
  #check(node: SimulatedValidator, height: number, blockId: string, block: Block, appHash: string): void {
    const decided = this.#decided.get(height);
    if (decided === undefined) this.#decided.set(height, blockId);
    else if (decided !== blockId) this.#violate(`agreement: at height ${height} ${node.address} decided ${blockId.slice(0, 16)} but another correct validator decided ${decided.slice(0, 16)}`);
    for (const tx of block.txs) {
      if (!this.#submitted.has(hexOf(tx))) this.#violate(`validity: height ${height} carries a transaction that was never submitted (${hexOf(tx).slice(0, 32)})`);
    }
    for (const evidence of block.evidence) {
      const author = this.#nodeByAddress(evidence.voteA.validatorAddress);
      if (!author.byzantine) this.#violate(`evidence: height ${height} commits evidence against correct validator ${author.address}`);
      this.#evidenceAgainst.add(author.address);
    }
    // Blocks carry the state they were built on: the app hash every correct validator had after the height before.
    const before = height === 1 ? this.#genesisAppHash : this.#appHashes.get(height - 1);
    if (block.header.previousAppHash !== before) this.#violate(`state: block ${height} carries previous app hash ${block.header.previousAppHash.slice(0, 16)}, not ${before?.slice(0, 16)}`);
    const hash = this.#appHashes.get(height);
    if (hash === undefined) this.#appHashes.set(height, appHash);
    else if (hash !== appHash) this.#violate(`state: at height ${height} ${node.address} has app hash ${appHash.slice(0, 16)}, another correct validator ${hash.slice(0, 16)}`);
  }

  #violate(message: string): void {
    this.#record(`violation ${message}`);
    this.#violations.push(`${message} (seed ${this.#options.seed}, t=${this.#nowMs} ms)`);
  }

  // ——— Network ———

  #schedule(delayMs: number, run: () => void): void {
    this.#queue.push(this.#nowMs + delayMs, run);
  }

  #record(line: string): void {
    const entry = `${this.#nowMs} ${line}\n`;
    this.#trace.update(entry);
    this.#options.onTrace?.(entry);
  }

  #broadcast(from: SimulatedValidator, message: WireMessage): void {
    for (const to of this.#nodes) if (to !== from) this.#send(from, to, message);
  }

  #send(from: SimulatedValidator, to: SimulatedValidator, message: WireMessage): void {
    const f = this.#options.faults;
    this.#stats.messagesSent++;
    if (!this.#healed) {
      if (this.#partition !== null && this.#partition.has(from.index) !== this.#partition.has(to.index)) {
        this.#stats.messagesDropped++;
        return;
      }
      if (this.#rng() < f.dropProbability) {
        this.#stats.messagesDropped++;
        return;
      }
    }
    const copies = this.#rng() < f.duplicateProbability ? 2 : 1;
    if (copies === 2) this.#stats.messagesDuplicated++;
    for (let c = 0; c < copies; c++) {
      const delayMs = f.delayMsMin + Math.floor(this.#rng() * (f.delayMsMax - f.delayMsMin + 1));
      this.#schedule(delayMs, () => this.#deliver(from, to, message));
    }
  }

  #deliver(from: SimulatedValidator, to: SimulatedValidator, message: WireMessage): void {
    if (!to.up || to.core === null) return;
    this.#stats.messagesDelivered++;
    this.#record(`deliver ${from.address}>${to.address} ${describe(message)}`);
    const core = to.core;
    switch (message.kind) {
      case 'proposal':
      case 'vote':
      case 'evidence':
        this.#apply(to, core.handle(message, this.#now()));
        return;
      case 'commit':
        if (message.commit.height === core.height && !core.awaitingCommit) this.#apply(to, core.handle(message, this.#now()));
        else if (message.commit.height > core.height && to.pendingCommits.size < PENDING_COMMITS_MAX) to.pendingCommits.set(message.commit.height, message);
        return;
      case 'commit-request':
        this.#sendCommits(to, from, message.height);
        return;
    }
  }

  #sendCommits(from: SimulatedValidator, to: SimulatedValidator, height: number): void {
    for (let h = height; h < height + COMMITS_PER_REQUEST && h <= from.chain.length; h++) {
      const stored = from.chain[h - 1]!;
      this.#send(from, to, { kind: 'commit', block: stored.block, commit: stored.commit });
    }
  }

  // ——— Faults ———

  #scheduleFaults(): void {
    const o = this.#options;
    if (o.faults.partitions) {
      for (let atMs = 2000 + Math.floor(this.#rng() * 4000); atMs < o.faultPhaseMs; atMs += 4000 + Math.floor(this.#rng() * 6000)) {
        const durationMs = 1500 + Math.floor(this.#rng() * 4500);
        const side = new Set(this.#nodes.filter(() => this.#rng() < 0.5).map((n) => n.index));
        this.#queue.push(atMs, () => {
          if (this.#healed) return;
          this.#partition = side;
          this.#stats.partitions++;
          this.#record(`partition ${[...side].join(',')}`);
        });
        this.#queue.push(Math.min(atMs + durationMs, o.faultPhaseMs), () => {
          if (this.#partition === side) this.#partition = null;
        });
      }
    }
    if (o.faults.crashes) {
      for (const node of this.#correct()) {
        for (let atMs = Math.floor(this.#rng() * o.faultPhaseMs); atMs < o.faultPhaseMs; atMs += 3000 + Math.floor(this.#rng() * o.faultPhaseMs)) {
          if (this.#rng() < 0.5) continue;
          const restartMs = Math.min(atMs + 500 + Math.floor(this.#rng() * 6000), o.faultPhaseMs);
          this.#queue.push(atMs, () => this.#crash(node));
          this.#queue.push(restartMs, () => {
            if (!node.up) this.#boot(node);
          });
        }
      }
    }
  }

  #heal(): void {
    this.#healed = true;
    this.#partition = null;
    this.#record('heal');
    for (const node of this.#nodes) if (!node.up) this.#boot(node);
  }

  #scheduleTx(delayMs: number): void {
    this.#schedule(delayMs, () => {
      const tx = this.#options.workload.makeTx(this.#txSequence++);
      this.#submitted.add(hexOf(tx));
      const targets = this.#nodes.filter((n) => n.up);
      const node = targets[Math.floor(this.#rng() * targets.length)];
      if (node !== undefined && node.mempool.length < MEMPOOL_TXS_MAX) node.mempool.push(tx);
      // A bound on the workload, far above what a run submits (one transaction per 400 ms by default).
      if (this.#txSequence < TXS_MAX) this.#scheduleTx(this.#options.txIntervalMs ?? 400);
    });
  }

  // ——— Byzantine behaviour ———

  #byzantineBroadcast(node: SimulatedValidator, message: ConsensusMessage): void {
    if (this.#options.byzantineStrategy === 'noisy') return this.#noisy(node, message);
    return this.#splitBrain(node, message);
  }

  #sign(node: SimulatedValidator, bytes: Uint8Array): Uint8Array {
    return this.#options.signatures.signer(node.index).sign(bytes);
  }

  #forgeVote(node: SimulatedValidator, like: Vote, type: Vote['type'], blockId: string | null): Vote {
    const unsigned = { type, height: like.height, round: like.round, blockId, validatorAddress: node.address };
    return { ...unsigned, signature: this.#sign(node, voteSignBytes(this.#options.chainId, unsigned)) };
  }

  /** Groups A and B of the correct validators; Byzantine validators see side A. */
  #sideOf(index: number): 'a' | 'b' {
    return this.#nodes[index]!.byzantine || this.#groupA.has(index) ? 'a' : 'b';
  }

  #splitBrain(node: SimulatedValidator, message: ConsensusMessage): void {
    if (message.kind === 'proposal') {
      const p = message.proposal;
      const key = `${p.height}/${p.round}`;
      if (p.proposerAddress !== node.address) return this.#broadcast(node, message);
      let forked = this.#forkedProposals.get(key);
      if (forked === undefined) {
        const other = this.#forkBlock(node, p.block);
        const otherId = blockIdOf(other);
        const unsigned = { height: p.height, round: p.round, validRound: -1, blockId: otherId, proposerAddress: node.address };
        forked = { ...unsigned, block: other, signature: this.#sign(node, proposalSignBytes(this.#options.chainId, unsigned)) };
        this.#forkedProposals.set(key, forked);
        this.#forks.set(key, { a: p.blockId, b: otherId });
        this.#record(`fork h${p.height} r${p.round} ${p.blockId.slice(0, 8)}|${otherId.slice(0, 8)}`);
      }
      const other: ConsensusMessage = { kind: 'proposal', proposal: forked };
      for (const to of this.#nodes) if (to !== node) this.#send(node, to, this.#sideOf(to.index) === 'a' ? message : other);
      return;
    }
    const vote = message.vote;
    // Votes of others this validator relays go on unchanged: it can only sign as itself.
    if (vote.validatorAddress !== node.address) return this.#broadcast(node, message);
    const fork = this.#forks.get(`${vote.height}/${vote.round}`);
    if (fork === undefined) {
      // No fork this round: side A hears the vote, side B its opposite.
      const opposite = this.#forgeVote(node, vote, vote.type, vote.blockId === null ? this.#madeUpBlockId(vote) : null);
      for (const to of this.#nodes) if (to !== node) this.#send(node, to, { kind: 'vote', vote: this.#sideOf(to.index) === 'a' ? vote : opposite });
      return;
    }
    // A fork: prevote and precommit block A to side A and block B to side B, at once and once.
    const key = `${vote.height}/${vote.round}`;
    if (node.forged.has(key)) return;
    node.forged.add(key);
    for (const type of ['prevote', 'precommit'] as const) {
      const forA = this.#forgeVote(node, vote, type, fork.a);
      const forB = this.#forgeVote(node, vote, type, fork.b);
      for (const to of this.#nodes) if (to !== node) this.#send(node, to, { kind: 'vote', vote: this.#sideOf(to.index) === 'a' ? forA : forB });
    }
  }

  /** A block id nobody proposed, for a vote that contradicts a nil vote. */
  #madeUpBlockId(vote: Vote): string {
    return createHash('sha256').update(`made-up ${vote.height} ${vote.round} ${this.#rng()}`).digest('hex');
  }

  /** A second block for the same height: a later time and one more transaction (sometimes one the application refuses). */
  #forkBlock(node: SimulatedValidator, block: Block): Block {
    const h = block.header;
    let extra: Uint8Array;
    if (this.#rng() < (this.#options.invalidForkProbability ?? 0.2)) {
      extra = this.#options.workload.makeInvalidTx();
    } else {
      // A valid transaction a client could have sent the Byzantine validator: submitted, so valid.
      extra = this.#options.workload.makeTx(this.#txSequence++);
      this.#submitted.add(hexOf(extra));
    }
    return makeBlock({
      chainId: h.chainId, height: h.height, timeMs: h.timeMs + 1, previousBlockId: h.previousBlockId, previousAppHash: h.previousAppHash,
      proposerAddress: node.address, txs: [...block.txs, extra], evidence: block.evidence, lastCommit: block.lastCommit,
    });
  }

  #noisy(node: SimulatedValidator, message: ConsensusMessage): void {
    if (message.kind === 'proposal') {
      this.#broadcast(node, message);
      return;
    }
    const vote = message.vote;
    if (vote.validatorAddress !== node.address) return this.#broadcast(node, message);
    const opposite = this.#forgeVote(node, vote, vote.type, vote.blockId === null ? this.#madeUpBlockId(vote) : null);
    for (const to of this.#nodes) {
      if (to === node) continue;
      const first = this.#rng() < 0.5;
      this.#send(node, to, { kind: 'vote', vote: first ? vote : opposite });
      this.#send(node, to, { kind: 'vote', vote: first ? opposite : vote });
    }
  }
}

/** Transactions from the front of the mempool whose bytes fit. */
function takeWithin(mempool: readonly Uint8Array[], maxBytes: number): Uint8Array[] {
  const taken: Uint8Array[] = [];
  let bytes = 0;
  for (const tx of mempool) {
    if (bytes + tx.length > maxBytes) break;
    bytes += tx.length;
    taken.push(tx);
  }
  return taken;
}

function describe(message: WireMessage): string {
  switch (message.kind) {
    case 'proposal': return `proposal h${message.proposal.height} r${message.proposal.round} ${message.proposal.blockId.slice(0, 8)}`;
    case 'vote': return `${message.vote.type} h${message.vote.height} r${message.vote.round} ${message.vote.blockId?.slice(0, 8) ?? 'nil'}`;
    case 'commit': return `commit h${message.commit.height} ${message.commit.blockId.slice(0, 8)}`;
    case 'commit-request': return `commit-request h${message.height}`;
    case 'evidence': return `evidence ${evidenceKey(message.evidence)}`;
  }
}

/** Runs one seeded simulation; see the header. */
export function runConsensusSimulation(options: ConsensusSimulationOptions): ConsensusSimulationResult {
  return new ConsensusSimulation(options).run();
}

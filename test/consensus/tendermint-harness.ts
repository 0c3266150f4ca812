// A Tendermint core under test among scripted validators: four (or more) validators with real
// ed25519 keys; the core is one of them and every other message is made and signed here, so each
// test feeds exactly the messages a rule of Algorithm 1 needs and reads back the core's outputs.
import type { Application } from '../../consensus/abci.ts';
import { blockIdOf, makeBlock, type Block } from '../../consensus/block.ts';
import { SignGuard, type SignStateStore } from '../../consensus/sign-guard.ts';
import {
  TendermintCore, TIMEOUTS_DEFAULT, type CoreOutput, type HeightStart, type TendermintLimits, type TimeoutConfig,
} from '../../consensus/tendermint.ts';
import {
  proposalSignBytes, voteSignBytes, type Commit, type Proposal, type Signer, type Vote, type VoteType,
} from '../../consensus/tendermint-messages.ts';
import {
  genesisPriorities, proposerIndexForRound, validatorAddress, validatorSet, type ValidatorSet,
} from '../../consensus/validator-set.ts';
import { ed25519Key, ed25519Verify, KV_GENESIS_APP_HASH, KvApplication, kvTx, type Ed25519Key } from './consensus-fixtures.ts';

export const CHAIN_ID = 'orbitfed-test';
export const GENESIS_TIME_MS = 1_767_225_600_000;

export interface CoreOptions {
  readonly application?: Application;
  readonly mempool?: readonly Uint8Array[];
  readonly signStateStore?: SignStateStore;
  readonly start?: Partial<HeightStart>;
  readonly timeouts?: TimeoutConfig;
  readonly limits?: TendermintLimits;
}

export class Harness {
  readonly keys: readonly Ed25519Key[];
  readonly set: ValidatorSet;

  constructor(votingPowers: readonly number[] = [1, 1, 1, 1], label = 'harness') {
    const keys = votingPowers.map((_, i) => ed25519Key(`${label} ${i}`));
    this.set = validatorSet(keys.map((k, i) => ({ address: validatorAddress(k.publicKey), publicKey: k.publicKey, votingPower: votingPowers[i]! })));
    // Keys in the set's (address) order, so index i is validator i everywhere.
    this.keys = this.set.validators.map((v) => keys.find((k) => validatorAddress(k.publicKey) === v.address)!);
  }

  address(index: number): string {
    return this.set.validators[index]!.address;
  }

  /** Index of proposer(1, round). */
  proposer(round: number, priorities = genesisPriorities(this.set)): number {
    return proposerIndexForRound(this.set, priorities, round);
  }

  /** A validator that is not the proposer of any of `rounds` at height 1. */
  nonProposer(rounds: readonly number[]): number {
    const index = this.set.validators.findIndex((_, i) => rounds.every((r) => this.proposer(r) !== i));
    if (index < 0) throw new Error(`every validator proposes in one of rounds ${rounds.join(',')}`);
    return index;
  }

  core(index: number, options: CoreOptions = {}): { core: TendermintCore; app: Application; signer: Signer } {
    const app = options.application ?? new KvApplication();
    const key = this.keys[index]!.signer;
    const signer = options.signStateStore === undefined ? key : new SignGuard(options.signStateStore, key, CHAIN_ID);
    const start: HeightStart = {
      height: 1, previousBlockId: null, previousAppHash: KV_GENESIS_APP_HASH, previousTimeMs: GENESIS_TIME_MS, lastCommit: null,
      priorities: genesisPriorities(this.set), lock: null, signed: [], validBlock: null, committedEvidence: [], ...options.start,
    };
    const core = new TendermintCore(
      { chainId: CHAIN_ID, validators: this.set, ownAddress: this.address(index), genesisTimeMs: GENESIS_TIME_MS, timeouts: options.timeouts ?? TIMEOUTS_DEFAULT, limits: options.limits },
      { signer, verify: ed25519Verify, application: app, mempool: () => options.mempool ?? [] },
      start,
    );
    return { core, app, signer };
  }

  /** A valid height-1 block proposed by `proposer` (txs are key=value pairs). */
  block(proposer: number, txs: readonly string[] = [], timeOffsetMs = 1000): Block {
    return makeBlock({
      chainId: CHAIN_ID, height: 1, timeMs: GENESIS_TIME_MS + timeOffsetMs, previousBlockId: null, previousAppHash: KV_GENESIS_APP_HASH,
      proposerAddress: this.address(proposer), txs: txs.map(kvTx), evidence: [], lastCommit: null,
    });
  }

  vote(from: number, type: VoteType, round: number, blockId: string | null, height = 1): Vote {
    const unsigned = { type, height, round, blockId, validatorAddress: this.address(from) };
    return { ...unsigned, signature: this.keys[from]!.signer.sign(voteSignBytes(CHAIN_ID, unsigned)) };
  }

  proposal(from: number, round: number, block: Block, validRound = -1): Proposal {
    const unsigned = { height: block.header.height, round, validRound, blockId: blockIdOf(block), proposerAddress: this.address(from) };
    return { ...unsigned, block, signature: this.keys[from]!.signer.sign(proposalSignBytes(CHAIN_ID, unsigned)) };
  }

  /** A commit of `blockId` at height 1 signed by `signers`. */
  commit(blockId: string, round: number, signers: readonly number[], height = 1): Commit {
    return {
      height, round, blockId,
      signatures: [...signers].sort((a, b) => a - b).map((i) => ({ validatorAddress: this.address(i), signature: this.vote(i, 'precommit', round, blockId, height).signature })),
    };
  }
}

/** The votes a core broadcast, as (type, round, blockId). */
export function votesOf(outputs: readonly CoreOutput[]): { type: VoteType; round: number; blockId: string | null }[] {
  return outputs.flatMap((o) => (o.kind === 'broadcast' && o.message.kind === 'vote' ? [{ type: o.message.vote.type, round: o.message.vote.round, blockId: o.message.vote.blockId }] : []));
}

export function proposalsOf(outputs: readonly CoreOutput[]): Proposal[] {
  return outputs.flatMap((o) => (o.kind === 'broadcast' && o.message.kind === 'proposal' ? [o.message.proposal] : []));
}

export function timeoutsOf(outputs: readonly CoreOutput[]): { step: string; round: number; delayMs: number }[] {
  return outputs.flatMap((o) => (o.kind === 'schedule-timeout' ? [{ step: o.timeout.step, round: o.timeout.round, delayMs: o.delayMs }] : []));
}

export function ofKind<K extends CoreOutput['kind']>(outputs: readonly CoreOutput[], kind: K): Extract<CoreOutput, { kind: K }>[] {
  return outputs.filter((o): o is Extract<CoreOutput, { kind: K }> => o.kind === kind);
}

/** Feeds inputs one after another, collecting all outputs. */
export function feed(core: TendermintCore, messages: readonly (Vote | Proposal)[], nowMs = GENESIS_TIME_MS + 2000): CoreOutput[] {
  return messages.flatMap((m) => core.handle('type' in m ? { kind: 'vote', vote: m } : { kind: 'proposal', proposal: m }, nowMs));
}

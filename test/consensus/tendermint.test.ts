// Each upon rule of Algorithm 1 (Buchman, Kwon, Milosevic, arXiv:1807.04938) on one core among
// four scripted validators of voting power 1: n = 4, f = 1, so 2f + 1 = 3 and f + 1 = 2.
import { describe, expect, it } from 'vitest';
import { blockIdOf, makeBlock } from '../../consensus/block.ts';
import { verifyDuplicateVoteEvidence } from '../../consensus/evidence.ts';
import { MemorySignStateStore, SignGuard } from '../../consensus/sign-guard.ts';
import { TIMEOUTS_DEFAULT, timeoutMs, type CoreOutput } from '../../consensus/tendermint.ts';
import { verifyCommit } from '../../consensus/tendermint-messages.ts';
import { nextHeightPriorities, genesisPriorities } from '../../consensus/validator-set.ts';
import { ed25519Verify, KV_GENESIS_APP_HASH, KvApplication, kvTx } from './consensus-fixtures.ts';
import {
  CHAIN_ID, feed, GENESIS_TIME_MS, Harness, ofKind, proposalsOf, timeoutsOf, votesOf,
} from './tendermint-harness.ts';

const h = new Harness();
const NOW = GENESIS_TIME_MS + 2000;
const others = (me: number): number[] => [0, 1, 2, 3].filter((i) => i !== me);

/** A non-proposer of round 0 that has started. */
function started(rounds: readonly number[] = [0]) {
  const me = h.nonProposer(rounds);
  const made = h.core(me);
  const out = made.core.handle({ kind: 'start' }, NOW);
  return { me, ...made, out, p0: h.proposer(0), peers: others(me) };
}

/** Moves a core to `round` by f + 1 precommits (nil) of that round from two validators (L55). */
function skipTo(core: ReturnType<typeof started>['core'], peers: readonly number[], round: number): CoreOutput[] {
  return feed(core, [h.vote(peers[0]!, 'precommit', round, null), h.vote(peers[1]!, 'precommit', round, null)]);
}

describe('Tendermint core, Algorithm 1', () => {
  it('starts round 0 (L10–13) and, not being the proposer, schedules OnTimeoutPropose after timeoutPropose(0) = 3 s (L21)', () => {
    const { core, out } = started();
    expect(core.height).toBe(1);
    expect(core.round).toBe(0);
    expect(core.step).toBe('propose');
    expect(timeoutsOf(out)).toEqual([{ step: 'propose', round: 0, delayMs: 3000 }]);
    expect(votesOf(out)).toEqual([]);
  });

  it('as proposer, broadcasts ⟨PROPOSAL, h, 0, getValue(), −1⟩ with the mempool\'s transactions, and prevotes it (L14–19, L22–24)', () => {
    const me = h.proposer(0);
    const { core } = h.core(me, { mempool: [kvTx('a=1'), kvTx('!bad'), kvTx('b=2')] });
    const out = core.handle({ kind: 'start' }, GENESIS_TIME_MS + 5000);
    const [proposal] = proposalsOf(out);
    expect(proposal).toBeDefined();
    expect(proposal!.round).toBe(0);
    expect(proposal!.validRound).toBe(-1);
    // PrepareProposal (the kv application) dropped the transaction it cannot execute.
    expect(proposal!.block.txs).toEqual([kvTx('a=1'), kvTx('b=2')]);
    expect(proposal!.block.header.timeMs).toBe(GENESIS_TIME_MS + 5000);
    expect(proposal!.block.header.previousAppHash).toBe(KV_GENESIS_APP_HASH);
    expect(votesOf(out)).toEqual([{ type: 'prevote', round: 0, blockId: proposal!.blockId }]);
    expect(timeoutsOf(out)).toEqual([]);
    expect(core.step).toBe('prevote');
  });

  it('prevotes id(v) for a valid proposal with validRound −1 when not locked (L22–24, L27)', () => {
    const { core, p0 } = started();
    const block = h.block(p0, ['a=1']);
    const out = feed(core, [h.proposal(p0, 0, block)]);
    expect(votesOf(out)).toEqual([{ type: 'prevote', round: 0, blockId: blockIdOf(block) }]);
    expect(core.step).toBe('prevote');
  });

  it('prevotes nil for a proposal the application rejects, or that does not extend the chain (L23, L26)', () => {
    const { core, p0 } = started();
    const out = feed(core, [h.proposal(p0, 0, h.block(p0, ['!not-a-pair']))]);
    expect(votesOf(out)).toEqual([{ type: 'prevote', round: 0, blockId: null }]);
    expect(ofKind(out, 'rejected').map((r) => r.code)).toContain('ORBITFED_BLOCK_REJECTED_BY_APPLICATION');

    const second = started();
    const wrongParent = makeBlock({
      chainId: CHAIN_ID, height: 1, timeMs: GENESIS_TIME_MS + 1, previousBlockId: 'ab'.repeat(32), previousAppHash: KV_GENESIS_APP_HASH,
      proposerAddress: h.address(second.p0), txs: [], evidence: [], lastCommit: null,
    });
    const out2 = feed(second.core, [h.proposal(second.p0, 0, wrongParent)]);
    expect(votesOf(out2)).toEqual([{ type: 'prevote', round: 0, blockId: null }]);
    expect(ofKind(out2, 'rejected').map((r) => r.code)).toContain('ORBITFED_BLOCK_WRONG_PARENT');
  });

  it('ignores a proposal that is not from proposer(h, round), or whose block id is not its block\'s', () => {
    const { core, p0, peers } = started();
    const impostor = peers.find((i) => i !== p0)!;
    const out = feed(core, [h.proposal(impostor, 0, h.block(impostor))]);
    expect(votesOf(out)).toEqual([]);
    expect(ofKind(out, 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_NOT_PROPOSER']);

    const genuine = h.proposal(p0, 0, h.block(p0, ['a=1']));
    const swapped = { ...genuine, block: h.block(p0, ['b=2']) };
    const out2 = feed(core, [swapped]);
    expect(votesOf(out2)).toEqual([]);
    expect(ofKind(out2, 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_BLOCK_ID_MISMATCH']);
  });

  it('schedules OnTimeoutPrevote once, on 2f + 1 prevotes for anything while in step prevote (L34–35)', () => {
    const { core, p0, peers } = started();
    const block = h.block(p0);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block)]);
    const early = feed(core, [h.vote(peers[0]!, 'prevote', 0, null)]);
    expect(timeoutsOf(early)).toEqual([]);
    const out = feed(core, [h.vote(peers[1]!, 'prevote', 0, 'cd'.repeat(32))]);
    expect(timeoutsOf(out)).toEqual([{ step: 'prevote', round: 0, delayMs: 1000 }]);
    expect(votesOf(out)).toEqual([]);
    const again = feed(core, [h.vote(peers[2]!, 'prevote', 0, id === 'cd'.repeat(32) ? null : 'ef'.repeat(32))]);
    expect(timeoutsOf(again)).toEqual([]);
  });

  it('locks on a value after 2f + 1 prevotes for it in its round and precommits it (L36–41), keeping it as validValue (L42–43)', () => {
    const { core, p0, peers } = started();
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), h.vote(peers[0]!, 'prevote', 0, id)]);
    expect(core.lock).toEqual({ blockId: null, round: -1 });
    const out = feed(core, [h.vote(peers[1]!, 'prevote', 0, id)]);
    expect(votesOf(out)).toEqual([{ type: 'precommit', round: 0, blockId: id }]);
    expect(core.step).toBe('precommit');
    expect(core.lock).toEqual({ blockId: id, round: 0 });
    expect(core.valid).toEqual({ blockId: id, round: 0 });
    const [stored] = ofKind(out, 'valid-block');
    expect(stored!.record.round).toBe(0);
    expect(stored!.record.proofOfLock.map((v) => v.validatorAddress).sort()).toHaveLength(3);
    // The valid block is handed to the node before the precommit that locks on it.
    expect(out.findIndex((o) => o.kind === 'valid-block')).toBeLessThan(out.findIndex((o) => o.kind === 'broadcast'));
  });

  it('only updates validValue when 2f + 1 prevotes for v come after it precommitted nil (L36–37, L42–43)', () => {
    const { core, p0, peers } = started();
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 0 } }, NOW); // prevote nil (L57–60)
    feed(core, [h.vote(peers[0]!, 'prevote', 0, id), h.vote(peers[1]!, 'prevote', 0, id)]);
    const timedOut = core.handle({ kind: 'timeout', timeout: { step: 'prevote', height: 1, round: 0 } }, NOW);
    expect(votesOf(timedOut)).toEqual([{ type: 'precommit', round: 0, blockId: null }]);
    const out = feed(core, [h.proposal(p0, 0, block), h.vote(peers[2]!, 'prevote', 0, id)]);
    expect(votesOf(out)).toEqual([]);
    expect(core.lock).toEqual({ blockId: null, round: -1 });
    expect(core.valid).toEqual({ blockId: id, round: 0 });
  });

  it('precommits nil on 2f + 1 prevotes for nil while in step prevote (L44–46)', () => {
    const { core, peers } = started();
    core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 0 } }, NOW);
    const out = feed(core, [h.vote(peers[0]!, 'prevote', 0, null), h.vote(peers[1]!, 'prevote', 0, null)]);
    expect(votesOf(out)).toEqual([{ type: 'precommit', round: 0, blockId: null }]);
    expect(core.step).toBe('precommit');
  });

  it('schedules OnTimeoutPrecommit once, on 2f + 1 precommits for anything (L47–48)', () => {
    const { core, peers } = started([0, 1]);
    const out = feed(core, [h.vote(peers[0]!, 'precommit', 0, null), h.vote(peers[1]!, 'precommit', 0, 'ab'.repeat(32)), h.vote(peers[2]!, 'precommit', 0, null)]);
    expect(timeoutsOf(out)).toEqual([{ step: 'precommit', round: 0, delayMs: 1000 }]);
    const timedOut = core.handle({ kind: 'timeout', timeout: { step: 'precommit', height: 1, round: 0 } }, NOW);
    expect(core.round).toBe(1);
    expect(timeoutsOf(timedOut)[0]).toEqual({ step: 'propose', round: 1, delayMs: 3500 });
  });

  it('decides v on its proposal and 2f + 1 precommits for id(v), with a commit that verifies (L49–51)', () => {
    const { core, p0, peers } = started();
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    const short = feed(core, [h.proposal(p0, 0, block), h.vote(peers[0]!, 'precommit', 0, id), h.vote(peers[1]!, 'precommit', 0, id)]);
    expect(ofKind(short, 'decide')).toEqual([]);
    const out = feed(core, [h.vote(peers[2]!, 'precommit', 0, id)]);
    const [decision] = ofKind(out, 'decide');
    expect(decision).toMatchObject({ height: 1, round: 0, blockId: id });
    expect(decision!.commit.signatures).toHaveLength(3);
    expect(verifyCommit(CHAIN_ID, h.set, decision!.commit, ed25519Verify)).toEqual({ ok: true });
    expect(core.awaitingCommit).toBe(true);
  });

  it('decides on 2f + 1 precommits of an earlier round, for the value proposed in that round (L49, any r)', () => {
    const { core, p0, peers } = started([0, 1]);
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block)]);
    skipTo(core, peers, 1);
    expect(core.round).toBe(1);
    const out = feed(core, peers.map((p) => h.vote(p, 'precommit', 0, id)));
    expect(ofKind(out, 'decide')[0]).toMatchObject({ round: 0, blockId: id });
  });

  it('moves to a higher round on f + 1 messages from it, not on f (L55–56)', () => {
    const { core, peers } = started([0, 3]);
    const one = feed(core, [h.vote(peers[0]!, 'precommit', 3, null)]);
    expect(core.round).toBe(0);
    expect(timeoutsOf(one)).toEqual([]);
    const two = feed(core, [h.vote(peers[1]!, 'prevote', 3, null)]);
    expect(core.round).toBe(3);
    expect(core.step).toBe('propose');
    expect(timeoutsOf(two)).toEqual([{ step: 'propose', round: 3, delayMs: timeoutMs(TIMEOUTS_DEFAULT, 'propose', 3) }]);
  });

  it('on timeouts prevotes nil (L57–60), precommits nil (L61–64), starts the next round (L65–67), and ignores stale ones', () => {
    const { core } = started([0, 1]);
    const stale = core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 5 } }, NOW);
    expect(stale).toEqual([]);
    expect(votesOf(core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 0 } }, NOW))).toEqual([{ type: 'prevote', round: 0, blockId: null }]);
    expect(core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 0 } }, NOW)).toEqual([]);
    expect(votesOf(core.handle({ kind: 'timeout', timeout: { step: 'prevote', height: 1, round: 0 } }, NOW))).toEqual([{ type: 'precommit', round: 0, blockId: null }]);
    expect(core.handle({ kind: 'timeout', timeout: { step: 'prevote', height: 1, round: 0 } }, NOW)).toEqual([]);
    core.handle({ kind: 'timeout', timeout: { step: 'precommit', height: 1, round: 0 } }, NOW);
    expect([core.round, core.step]).toEqual([1, 'propose']);
    expect(core.handle({ kind: 'timeout', timeout: { step: 'precommit', height: 1, round: 0 } }, NOW)).toEqual([]);
    expect(core.round).toBe(1);
  });

  it('makes every timeout 0.5 s longer per round: timeoutX(r) = initTimeoutX + r · delta (3 s / 1 s / 1 s)', () => {
    const rounds = [0, 1, 2, 5];
    expect(rounds.map((r) => timeoutMs(TIMEOUTS_DEFAULT, 'propose', r))).toEqual([3000, 3500, 4000, 5500]);
    expect(rounds.map((r) => timeoutMs(TIMEOUTS_DEFAULT, 'prevote', r))).toEqual([1000, 1500, 2000, 3500]);
    expect(rounds.map((r) => timeoutMs(TIMEOUTS_DEFAULT, 'precommit', r))).toEqual([1000, 1500, 2000, 3500]);
    const custom = { ...TIMEOUTS_DEFAULT, proposeMs: 100, proposeDeltaMs: 10 };
    expect(timeoutMs(custom, 'propose', 3)).toBe(130);
  });

  describe('locks across rounds (L22–33)', () => {
    const a = h.block(h.proposer(0), ['a=1']);
    const b = h.block(h.proposer(0), ['b=2']);
    const idA = blockIdOf(a);
    const idB = blockIdOf(b);
    /** A core locked on A in round 1, now in round 2 (not its proposer). */
    function lockedOnA() {
      const me = h.nonProposer([0, 1, 2]);
      const { core } = h.core(me, { start: { lock: { height: 1, round: 1, blockId: idA } } });
      core.handle({ kind: 'start' }, NOW);
      const peers = others(me);
      skipTo(core, peers, 2);
      expect(core.round).toBe(2);
      return { core, peers, p2: h.proposer(2) };
    }

    it('prevotes nil when locked on another value and the proposal\'s validRound is older than the lock (L28–29, L32)', () => {
      const { core, peers, p2 } = lockedOnA();
      const pol = peers.map((p) => h.vote(p, 'prevote', 0, idB));
      const out = feed(core, [...pol, h.proposal(p2, 2, b, 0)]);
      expect(votesOf(out)).toEqual([{ type: 'prevote', round: 2, blockId: null }]);
    });

    it('prevotes a proposal whose validRound is at least its lockedRound, given 2f + 1 prevotes in that round (L28–30)', () => {
      const { core, peers, p2 } = lockedOnA();
      const pol = peers.map((p) => h.vote(p, 'prevote', 1, idB));
      const out = feed(core, [...pol, h.proposal(p2, 2, b, 1)]);
      expect(votesOf(out)).toEqual([{ type: 'prevote', round: 2, blockId: idB }]);
    });

    it('prevotes its locked value whatever the validRound, and nil for another value with validRound −1 (L23, L29)', () => {
      const first = lockedOnA();
      expect(votesOf(feed(first.core, [h.proposal(first.p2, 2, b)]))).toEqual([{ type: 'prevote', round: 2, blockId: null }]);
      const second = lockedOnA();
      expect(votesOf(feed(second.core, [h.proposal(second.p2, 2, a)]))).toEqual([{ type: 'prevote', round: 2, blockId: idA }]);
    });

    it('waits in step propose for the 2f + 1 prevotes of the proposal\'s validRound (L28), and prevotes nil on timeout (L57–60)', () => {
      const { core, peers, p2 } = lockedOnA();
      const waiting = feed(core, [h.proposal(p2, 2, b, 1), h.vote(peers[0]!, 'prevote', 1, idB), h.vote(peers[1]!, 'prevote', 1, idB)]);
      expect(votesOf(waiting)).toEqual([]);
      expect(core.step).toBe('propose');
      const out = core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 2 } }, NOW);
      expect(votesOf(out)).toEqual([{ type: 'prevote', round: 2, blockId: null }]);
    });
  });

  it('as proposer of a later round, re-proposes validValue with its validRound (L15–16, L19)', () => {
    const p0 = h.proposer(0);
    const me = h.proposer(1);
    expect(me).not.toBe(p0);
    const { core } = h.core(me);
    core.handle({ kind: 'start' }, NOW);
    const peers = others(me);
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), h.vote(peers[0]!, 'prevote', 0, id), h.vote(peers[1]!, 'prevote', 0, id)]);
    expect(core.valid).toEqual({ blockId: id, round: 0 });
    feed(core, [h.vote(peers[0]!, 'precommit', 0, null), h.vote(peers[1]!, 'precommit', 0, null)]);
    const out = core.handle({ kind: 'timeout', timeout: { step: 'precommit', height: 1, round: 0 } }, NOW);
    const [proposal] = proposalsOf(out);
    expect(proposal).toMatchObject({ round: 1, validRound: 0, blockId: id });
  });

  it('after a decision and commitHeight, starts height 2 at round 0 with the lock reset, the next proposer and the commit as last commit (L52–54)', () => {
    const next = nextHeightPriorities(h.set, genesisPriorities(h.set));
    const me = next.proposerIndex;
    const p0 = h.proposer(0);
    expect(me).not.toBe(p0);
    const { core, app } = h.core(me);
    core.handle({ kind: 'start' }, NOW);
    const peers = others(me);
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), ...peers.map((p) => h.vote(p, 'prevote', 0, id))]);
    expect(core.lock.round).toBe(0);
    const [decision] = ofKind(feed(core, peers.map((p) => h.vote(p, 'precommit', 0, id))), 'decide');
    const { appHash } = app.finalizeBlock({ block, blockId: id, misbehavior: [] });
    app.commit();
    const out = core.commitHeight(appHash, GENESIS_TIME_MS + 9000);
    expect([core.height, core.round, core.step]).toEqual([2, 0, 'prevote']);
    expect(core.lock).toEqual({ blockId: null, round: -1 });
    expect(core.valid).toEqual({ blockId: null, round: -1 });
    const [proposal] = proposalsOf(out);
    expect(proposal!.block.header).toMatchObject({ height: 2, previousBlockId: id, previousAppHash: appHash, timeMs: GENESIS_TIME_MS + 9000 });
    expect(proposal!.block.lastCommit).toEqual(decision!.commit);
    expect(votesOf(out)).toEqual([{ type: 'prevote', round: 0, blockId: proposal!.blockId }]);
  });

  it('refuses a block of height 2 without the commit of height 1 (valid(v))', () => {
    const p0 = h.proposer(0);
    const p2 = nextHeightPriorities(h.set, genesisPriorities(h.set)).proposerIndex;
    const me = [0, 1, 2, 3].find((i) => i !== p0 && i !== p2)!;
    const { core } = h.core(me);
    core.handle({ kind: 'start' }, NOW);
    const block = h.block(p0);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), ...others(me).map((p) => h.vote(p, 'precommit', 0, id))]);
    const app = new KvApplication();
    const { appHash } = app.finalizeBlock({ block, blockId: id, misbehavior: [] });
    core.commitHeight(appHash, NOW);
    expect(core.proposerAddress(0)).toBe(h.address(p2));
    const bare = makeBlock({
      chainId: CHAIN_ID, height: 2, timeMs: NOW + 1, previousBlockId: id, previousAppHash: appHash, proposerAddress: h.address(p2), txs: [], evidence: [], lastCommit: null,
    });
    const out = feed(core, [h.proposal(p2, 0, bare)]);
    expect(ofKind(out, 'rejected').map((r) => r.code)).toEqual(['ORBITFED_BLOCK_LAST_COMMIT']);
    expect(votesOf(out)).toEqual([{ type: 'prevote', round: 0, blockId: null }]);
  });

  it('decides from a verified commit of its height sent by a validator that is ahead, and refuses one short of 2/3', () => {
    const { core, p0 } = started();
    const block = h.block(p0, ['a=1']);
    const id = blockIdOf(block);
    const short = core.handle({ kind: 'commit', block, commit: h.commit(id, 0, [0, 1]) }, NOW);
    expect(ofKind(short, 'decide')).toEqual([]);
    expect(ofKind(short, 'rejected').map((r) => r.code)).toEqual(['ORBITFED_COMMIT_INSUFFICIENT_POWER']);
    const out = core.handle({ kind: 'commit', block, commit: h.commit(id, 0, [1, 2, 3]) }, NOW);
    expect(ofKind(out, 'decide')[0]).toMatchObject({ height: 1, blockId: id });
  });

  it('rejects votes with a bad signature, from outside the validator set, or too many rounds ahead', () => {
    const { core, peers } = started();
    const vote = h.vote(peers[0]!, 'prevote', 0, null);
    const tampered = { ...vote, signature: vote.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    expect(ofKind(feed(core, [tampered]), 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_BAD_SIGNATURE']);
    expect(ofKind(feed(core, [{ ...vote, validatorAddress: 'ff' }]), 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_UNKNOWN_VALIDATOR']);
    expect(ofKind(feed(core, [h.vote(peers[0]!, 'prevote', 65, null)]), 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_ROUND_TOO_FAR']);
    expect(ofKind(feed(core, [{ ...vote, round: -1 }]), 'rejected').map((r) => r.code)).toEqual(['ORBITFED_CONSENSUS_MALFORMED']);
  });

  it('turns two conflicting prevotes of one validator into verifiable evidence and commits it in its next proposal', () => {
    const next = nextHeightPriorities(h.set, genesisPriorities(h.set));
    const me = next.proposerIndex;
    const p0 = h.proposer(0);
    const { core } = h.core(me);
    core.handle({ kind: 'start' }, NOW);
    const cheat = others(me).find((i) => i !== p0)!;
    const out = feed(core, [h.vote(cheat, 'prevote', 0, null), h.vote(cheat, 'prevote', 0, 'ab'.repeat(32))]);
    const [found] = ofKind(out, 'evidence');
    expect(found).toBeDefined();
    expect(found!.evidence.voteA.blockId).toBeNull();
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, found!.evidence, ed25519Verify)).toEqual({ ok: true });
    expect(core.pendingEvidence).toHaveLength(1);

    const block = h.block(p0);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), ...others(me).map((p) => h.vote(p, 'precommit', 0, id))]);
    const app = new KvApplication();
    const { appHash } = app.finalizeBlock({ block, blockId: id, misbehavior: [] });
    const [proposal] = proposalsOf(core.commitHeight(appHash, NOW));
    expect(proposal!.block.evidence).toEqual([found!.evidence]);
  });

  it('takes evidence gossiped by others once verified, and refuses forged evidence', () => {
    const { core, peers } = started();
    const cheat = peers[0]!;
    const forged = { voteA: h.vote(cheat, 'prevote', 0, null), voteB: { ...h.vote(cheat, 'prevote', 0, 'ab'.repeat(32)), signature: new Uint8Array(64) } };
    expect(ofKind(core.handle({ kind: 'evidence', evidence: forged }, NOW), 'rejected').map((r) => r.code)).toEqual(['ORBITFED_EVIDENCE_BAD_SIGNATURE']);
    expect(core.pendingEvidence).toEqual([]);
    const genuine = { voteA: h.vote(cheat, 'prevote', 0, null), voteB: h.vote(cheat, 'prevote', 0, 'ab'.repeat(32)) };
    expect(core.handle({ kind: 'evidence', evidence: genuine }, NOW)).toEqual([]);
    expect(core.pendingEvidence).toEqual([genuine]);
  });

  it('keeps messages of the next height until it has decided this one', () => {
    const { core, p0, peers } = started();
    const early = feed(core, [h.vote(peers[0]!, 'precommit', 0, null, 2), h.vote(peers[1]!, 'precommit', 0, null, 2)]);
    expect(early).toEqual([]);
    const block = h.block(p0);
    const id = blockIdOf(block);
    feed(core, [h.proposal(p0, 0, block), ...peers.map((p) => h.vote(p, 'precommit', 0, id))]);
    const app = new KvApplication();
    const { appHash } = app.finalizeBlock({ block, blockId: id, misbehavior: [] });
    core.commitHeight(appHash, NOW);
    const out = feed(core, [h.vote(peers[2]!, 'precommit', 0, null, 2)]);
    expect(timeoutsOf(out)).toContainEqual({ step: 'precommit', round: 0, delayMs: 1000 });
  });

  it('gossips when stalled: re-sends the round\'s votes, asks a validator two heights ahead for the commit, offers commits to one behind', () => {
    const { core, me, peers } = started();
    core.handle({ kind: 'timeout', timeout: { step: 'propose', height: 1, round: 0 } }, NOW);
    feed(core, [h.vote(peers[0]!, 'prevote', 0, null)]);
    expect(core.handle({ kind: 'gossip-tick' }, NOW)).toEqual([]);
    const stalled = core.handle({ kind: 'gossip-tick' }, NOW);
    expect(votesOf(stalled)).toEqual([{ type: 'prevote', round: 0, blockId: null }, { type: 'prevote', round: 0, blockId: null }]);
    const resent = stalled.flatMap((o) => (o.kind === 'broadcast' && o.message.kind === 'vote' ? [o.message.vote.validatorAddress] : []));
    expect(resent.sort()).toEqual([h.address(me), h.address(peers[0]!)].sort());

    feed(core, [h.vote(peers[1]!, 'prevote', 0, null, 3)]);
    expect(ofKind(core.handle({ kind: 'gossip-tick' }, NOW), 'request-commit')).toEqual([{ kind: 'request-commit', to: h.address(peers[1]!), height: 1 }]);
  });

  describe('restarts (sign guard)', () => {
    it('resumes the votes it signed in its last round, and the sign guard refuses a conflicting one', () => {
      const { me, p0, peers } = started();
      const store = new MemorySignStateStore();
      const first = h.core(me, { signStateStore: store }).core;
      first.handle({ kind: 'start' }, NOW);
      const a = h.block(p0, ['a=1']);
      const sent = votesOf(feed(first, [h.proposal(p0, 0, a)]));
      expect(sent).toEqual([{ type: 'prevote', round: 0, blockId: blockIdOf(a) }]);

      // Restarted without its signed votes: it would prevote again, and the guard refuses.
      const forgetful = h.core(me, { signStateStore: store }).core;
      forgetful.handle({ kind: 'start' }, NOW);
      const refused = feed(forgetful, [h.proposal(p0, 0, h.block(p0, ['b=2']))]);
      expect(votesOf(refused)).toEqual([]);
      expect(ofKind(refused, 'sign-refused').map((r) => r.code)).toEqual(['ORBITFED_SIGN_CONFLICT']);

      // Restarted as a node does it: from the guard's state, it sends its prevote again.
      const guard = new SignGuard(store, h.keys[me]!.signer, CHAIN_ID);
      const resumed = h.core(me, { signStateStore: store, start: { signed: guard.signedAt(1), lock: guard.lockFor(1) } }).core;
      const out = resumed.handle({ kind: 'start' }, NOW);
      expect(votesOf(out)).toEqual(sent);
      expect([resumed.round, resumed.step]).toEqual([0, 'prevote']);
      expect(peers).toHaveLength(3);
    });

    it('keeps its lock across a restart and prevotes nil for another value (L23)', () => {
      const { me, p0, peers } = started([0, 1]);
      const store = new MemorySignStateStore();
      const first = h.core(me, { signStateStore: store }).core;
      first.handle({ kind: 'start' }, NOW);
      const a = h.block(p0, ['a=1']);
      const idA = blockIdOf(a);
      feed(first, [h.proposal(p0, 0, a), h.vote(peers[0]!, 'prevote', 0, idA), h.vote(peers[1]!, 'prevote', 0, idA)]);
      expect(first.lock).toEqual({ blockId: idA, round: 0 });
      const guard = new SignGuard(store, h.keys[me]!.signer, CHAIN_ID);
      expect(guard.lockFor(1)).toEqual({ height: 1, round: 0, blockId: idA });
      const restarted = h.core(me, { signStateStore: store, start: { lock: guard.lockFor(1), signed: guard.signedAt(1) } }).core;
      restarted.handle({ kind: 'start' }, NOW);
      expect(restarted.lock).toEqual({ blockId: idA, round: 0 });
      skipTo(restarted, peers, 1);
      const p1 = h.proposer(1);
      const out = feed(restarted, [h.proposal(p1, 1, h.block(p1, ['b=2']))]);
      expect(votesOf(out)).toEqual([{ type: 'prevote', round: 1, blockId: null }]);
    });
  });
});

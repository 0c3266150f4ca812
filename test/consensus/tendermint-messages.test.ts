// Sign bytes (their documented fixed layout), commits, blocks, duplicate-vote evidence and the
// per-round vote tallies.
import { describe, expect, it } from 'vitest';
import { blockIdOf, BLOCK_LIMITS_DEFAULT, checkBlockContents, makeBlock } from '../../consensus/block.ts';
import { duplicateVoteEvidence, evidenceKey, misbehaviorOf, verifyDuplicateVoteEvidence } from '../../consensus/evidence.ts';
import {
  checkProposalShape, checkVoteShape, parseSignBytes, proposalSignBytes, verifyCommit, voteSignBytes,
} from '../../consensus/tendermint-messages.ts';
import { HeightVoteSet, VALUES_PER_VALIDATOR_MAX } from '../../consensus/vote-set.ts';
import { ed25519Verify, KV_GENESIS_APP_HASH, kvTx } from './consensus-fixtures.ts';
import { CHAIN_ID, GENESIS_TIME_MS, Harness } from './tendermint-harness.ts';

const h = new Harness();
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('sign bytes', () => {
  it('lay a vote out as documented: tag, type, height, round, value, valid round, chain id, address', () => {
    const bytes = voteSignBytes('orbitfed-test', { type: 'precommit', height: 258, round: 3, blockId: A, validatorAddress: 'a1b2' });
    expect(hex(bytes)).toBe([
      Buffer.from('ORBITFED-TM-V1').toString('hex') + '0000', // domain tag, 16 bytes
      '02', // precommit
      '0000000000000102', // height 258
      '00000003', // round 3
      '01' + A, // a block id
      '00000000', // votes have no valid round
      '0d' + Buffer.from('orbitfed-test').toString('hex'),
      '02a1b2',
    ].join(''));
    const nil = voteSignBytes('orbitfed-test', { type: 'prevote', height: 1, round: 0, blockId: null, validatorAddress: 'a1b2' });
    expect(hex(nil).slice(32, 32 + 2 + 16 + 8 + 2 + 64)).toBe('01' + '0000000000000001' + '00000000' + '00' + '00'.repeat(32));
  });

  it('read back exactly what was signed, for votes and proposals', () => {
    expect(parseSignBytes(voteSignBytes(CHAIN_ID, { type: 'prevote', height: 9, round: 4, blockId: null, validatorAddress: 'c0ffee' }))).toEqual({
      type: 'prevote', height: 9, round: 4, blockId: null, validRound: -1, chainId: CHAIN_ID, address: 'c0ffee',
    });
    expect(parseSignBytes(proposalSignBytes(CHAIN_ID, { height: 2, round: 5, validRound: 3, blockId: B, proposerAddress: 'c0ffee' }))).toMatchObject({
      type: 'proposal', height: 2, round: 5, blockId: B, validRound: 3,
    });
  });

  it('are refused when the tag, the type or the length is wrong', () => {
    const bytes = voteSignBytes(CHAIN_ID, { type: 'prevote', height: 1, round: 0, blockId: A, validatorAddress: 'a1' });
    expect(() => parseSignBytes(Uint8Array.of(...bytes, 0))).toThrow(/unexpected bytes/);
    expect(() => parseSignBytes(bytes.slice(0, 40))).toThrow(/needs/);
    const badTag = Uint8Array.from(bytes);
    badTag[0] = 0x58;
    expect(() => parseSignBytes(badTag)).toThrow(/domain tag/);
    const badType = Uint8Array.from(bytes);
    badType[16] = 7;
    expect(() => parseSignBytes(badType)).toThrow(/type/);
  });

  it('shape checks refuse out-of-range fields before any signature is checked', () => {
    const vote = h.vote(0, 'prevote', 0, A);
    expect(checkVoteShape(vote)).toEqual({ ok: true });
    expect(checkVoteShape({ ...vote, height: 0 }).ok).toBe(false);
    expect(checkVoteShape({ ...vote, blockId: 'AA'.repeat(32) }).ok).toBe(false);
    expect(checkVoteShape({ ...vote, signature: new Uint8Array(63) }).ok).toBe(false);
    const proposal = h.proposal(h.proposer(1), 1, h.block(h.proposer(1)), 0);
    expect(checkProposalShape(proposal)).toEqual({ ok: true });
    expect(checkProposalShape({ ...proposal, validRound: 1 }).ok).toBe(false);
    expect(checkProposalShape({ ...proposal, validRound: -2 }).ok).toBe(false);
  });
});

describe('commits', () => {
  it('verify with more than 2/3 of the power, each signature checked, one per validator in order', () => {
    expect(verifyCommit(CHAIN_ID, h.set, h.commit(A, 0, [0, 1, 2]), ed25519Verify)).toEqual({ ok: true });
    expect(verifyCommit(CHAIN_ID, h.set, h.commit(A, 0, [0, 2]), ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_COMMIT_INSUFFICIENT_POWER' });
    const good = h.commit(A, 0, [0, 1, 2]);
    const repeated = { ...good, signatures: [good.signatures[0]!, good.signatures[0]!, good.signatures[1]!] };
    expect(verifyCommit(CHAIN_ID, h.set, repeated, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_COMMIT_MALFORMED' });
    const reordered = { ...good, signatures: [...good.signatures].reverse() };
    expect(verifyCommit(CHAIN_ID, h.set, reordered, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_COMMIT_MALFORMED' });
    expect(verifyCommit(CHAIN_ID, h.set, { ...good, blockId: B }, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_COMMIT_BAD_SIGNATURE' });
    expect(verifyCommit('another-chain', h.set, good, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_COMMIT_BAD_SIGNATURE' });
  });
});

describe('blocks', () => {
  it('have an id that changes with anything in them, and a header whose hashes must match the contents', () => {
    const block = h.block(0, ['a=1']);
    expect(blockIdOf(block)).toMatch(/^[0-9a-f]{64}$/);
    expect(blockIdOf(h.block(0, ['a=2']))).not.toBe(blockIdOf(block));
    expect(blockIdOf(h.block(0, ['a=1'], 1001))).not.toBe(blockIdOf(block));
    expect(checkBlockContents(block, BLOCK_LIMITS_DEFAULT)).toEqual({ ok: true });
    expect(checkBlockContents({ ...block, txs: [kvTx('a=9')] }, BLOCK_LIMITS_DEFAULT)).toMatchObject({ ok: false, code: 'ORBITFED_BLOCK_HASH_MISMATCH' });
    expect(checkBlockContents(block, { ...BLOCK_LIMITS_DEFAULT, txsBytesMax: 2 })).toMatchObject({ ok: false, code: 'ORBITFED_BLOCK_TOO_LARGE' });
    const withCommit = makeBlock({
      chainId: CHAIN_ID, height: 2, timeMs: GENESIS_TIME_MS + 5, previousBlockId: blockIdOf(block), previousAppHash: KV_GENESIS_APP_HASH,
      proposerAddress: h.address(1), txs: [], evidence: [], lastCommit: h.commit(blockIdOf(block), 0, [0, 1, 2]),
    });
    expect(checkBlockContents(withCommit, BLOCK_LIMITS_DEFAULT)).toEqual({ ok: true });
    expect(checkBlockContents({ ...withCommit, lastCommit: h.commit(blockIdOf(block), 0, [1, 2, 3]) }, BLOCK_LIMITS_DEFAULT)).toMatchObject({ ok: false, code: 'ORBITFED_BLOCK_HASH_MISMATCH' });
  });
});

describe('duplicate-vote evidence', () => {
  const nil = h.vote(2, 'precommit', 4, null, 7);
  const forA = h.vote(2, 'precommit', 4, A, 7);
  const forB = h.vote(2, 'precommit', 4, B, 7);

  it('pairs two votes of one validator for one slot in one canonical order, verifiable by anyone with the set', () => {
    const evidence = duplicateVoteEvidence(forB, forA);
    expect(evidence).toEqual(duplicateVoteEvidence(forA, forB));
    expect(evidence.voteA.blockId).toBe(A);
    expect(duplicateVoteEvidence(forA, nil).voteA.blockId).toBeNull();
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, evidence, ed25519Verify)).toEqual({ ok: true });
    expect(evidenceKey(evidence)).toBe(`${h.address(2)}/7/4/precommit`);
    expect(misbehaviorOf(h.set, evidence)).toEqual({ type: 'duplicate-vote', validatorAddress: h.address(2), validatorPower: 1, height: 7, totalVotingPower: 4 });
  });

  it('is refused when the votes agree, differ in slot or author, are out of order, or a signature is forged', () => {
    expect(() => duplicateVoteEvidence(forA, forA)).toThrow();
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, { voteA: forA, voteB: { ...forB, round: 5 } }, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_EVIDENCE_NOT_CONFLICTING' });
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, { voteA: forA, voteB: h.vote(3, 'precommit', 4, B, 7) }, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_EVIDENCE_NOT_CONFLICTING' });
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, { voteA: forB, voteB: forA }, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_EVIDENCE_MALFORMED' });
    const forged = { ...forB, signature: forA.signature };
    expect(verifyDuplicateVoteEvidence(CHAIN_ID, h.set, { voteA: forA, voteB: forged }, ed25519Verify)).toMatchObject({ ok: false, code: 'ORBITFED_EVIDENCE_BAD_SIGNATURE' });
  });
});

describe('vote tallies', () => {
  it('count each validator once for "any", every (validator, value) once for its value, and make evidence once', () => {
    const votes = new HeightVoteSet(h.set, 1);
    expect(votes.add(0, h.vote(0, 'prevote', 0, A), true).kind).toBe('added');
    expect(votes.add(0, h.vote(0, 'prevote', 0, A), true).kind).toBe('duplicate');
    const conflict = votes.add(0, h.vote(0, 'prevote', 0, B), true);
    expect(conflict).toMatchObject({ kind: 'conflict', counted: true });
    expect(conflict.kind === 'conflict' && conflict.evidence !== null).toBe(true);
    const again = votes.add(0, h.vote(0, 'prevote', 0, null), false);
    expect(again).toMatchObject({ kind: 'conflict', evidence: null, counted: true });
    votes.add(1, h.vote(1, 'prevote', 0, B), true);
    const tally = votes.tally('prevote', 0)!;
    expect([tally.powerAny(), tally.powerFor(A), tally.powerFor(B), tally.powerFor(null)]).toEqual([2, 1, 2, 1]);
    expect(tally.votesFor(B).map((v) => v.validatorAddress)).toEqual([h.address(0), h.address(1)]);
    expect(votes.senderPower(0)).toBe(2);
  });

  it('bound the made-up values a Byzantine validator can make them hold, but always count nil and known blocks', () => {
    const votes = new HeightVoteSet(h.set, 1);
    const made = (i: number): string => i.toString(16).padStart(64, '0');
    for (let i = 0; i < VALUES_PER_VALIDATOR_MAX + 3; i++) votes.add(3, h.vote(3, 'precommit', 2, made(i)), false);
    const tally = votes.tally('precommit', 2)!;
    expect(Array.from({ length: VALUES_PER_VALIDATOR_MAX + 3 }, (_, i) => tally.powerFor(made(i))).filter((p) => p > 0)).toHaveLength(VALUES_PER_VALIDATOR_MAX);
    expect(votes.add(3, h.vote(3, 'precommit', 2, A), true)).toMatchObject({ counted: true });
    expect(votes.add(3, h.vote(3, 'precommit', 2, null), false)).toMatchObject({ counted: true });
    expect(tally.powerAny()).toBe(1);
  });
});

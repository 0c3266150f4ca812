// The messages of Tendermint (arXiv:1807.04938, Algorithm 1): ⟨PROPOSAL, h, r, v, vr⟩,
// ⟨PREVOTE, h, r, id(v) | nil⟩ and ⟨PRECOMMIT, h, r, id(v) | nil⟩, each signed by its sender, and
// the commit: the precommits for one block in one round whose senders hold a quorum (> 2/3) of the
// voting power, the proof that the block was decided.
//
// Sign bytes: a fixed layout (not CBOR) so that every validator, and the sign guard that parses
// them back, agrees byte for byte. Big-endian; the fixed-size fields come first so the guard reads
// height, round, step and value at fixed offsets:
//
//   offset  bytes  field
//   0       16     domain tag "ORBITFED-TM-V1", NUL-padded: these bytes sign nothing but consensus messages
//   16      1      type: 1 prevote, 2 precommit, 32 proposal (CometBFT's SignedMsgType values)
//   17      8      height, u64 (≥ 1)
//   25      4      round, u32
//   29      1      value: 0 = nil, 1 = a block id follows (always 1 for a proposal)
//   30      32     block id, SHA-256 of the block header (zeros for nil)
//   62      4      proposal: validRound + 1 (0 = "−1", no valid round); votes: 0
//   66      1      chain id length L (1–50, CometBFT's limit)
//   67      L      chain id, ASCII (lowercase letters, digits, '.', '-')
//   67+L    1      signer address length A (1–64)
//   68+L    A      signer address
//
// The chain id keeps a signature from one federation (or a test network) valid on another; the
// signer's address makes a signed message, and so a piece of evidence, name its author by itself.
import { OrbitfedError } from '../common/index.ts';
import type { Block } from './block.ts';
import { ByteReader, ByteWriter, bytesOfHex, hexOf, isHex } from './binary-layout.ts';
import { ADDRESS_BYTES_MAX, isQuorum, type ValidatorSet } from './validator-set.ts';

export type VoteType = 'prevote' | 'precommit';
export type SignedMessageType = VoteType | 'proposal';

/** CometBFT's SignedMsgType numbers, used as the type byte of sign bytes. */
export const SIGNED_MESSAGE_TYPE_CODE: Readonly<Record<SignedMessageType, number>> = { prevote: 1, precommit: 2, proposal: 32 };
const TYPE_OF_CODE = new Map<number, SignedMessageType>([[1, 'prevote'], [2, 'precommit'], [32, 'proposal']]);

export const CONSENSUS_DOMAIN_TAG = 'ORBITFED-TM-V1';
const DOMAIN_TAG_BYTES = 16;
const DOMAIN_TAG = (() => {
  const tag = new Uint8Array(DOMAIN_TAG_BYTES);
  tag.set(new TextEncoder().encode(CONSENSUS_DOMAIN_TAG));
  return tag;
})();
/** CometBFT's MaxChainIDLen. */
export const CHAIN_ID_BYTES_MAX = 50;
/** Rounds are u32 in sign bytes; validRound + 1 must fit too. */
export const ROUND_MAX = 0xffff_fffe;
export const HEIGHT_MAX = Number.MAX_SAFE_INTEGER;
export const BLOCK_ID_BYTES = 32;
/** ed25519 signatures are 64 bytes. */
export const SIGNATURE_BYTES = 64;
const SIGN_BYTES_MAX = 68 + CHAIN_ID_BYTES_MAX + ADDRESS_BYTES_MAX;
const NIL_BLOCK_ID = new Uint8Array(BLOCK_ID_BYTES);

/** Produces a signature over exact bytes (a key, or the sign guard in front of one). */
export interface Signer {
  sign(bytes: Uint8Array): Uint8Array;
}

/** The one verification rule, injected (ed25519 in production; a fast stand-in in big simulations). */
export type VerifySignature = (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean;

export interface Vote {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  /** id(v): 64 lowercase hex characters; null is nil. */
  readonly blockId: string | null;
  readonly validatorAddress: string;
  readonly signature: Uint8Array;
}

export type UnsignedVote = Omit<Vote, 'signature'>;

export interface Proposal {
  readonly height: number;
  readonly round: number;
  /** vr: −1, or the round (< round) in which the proposer saw 2f + 1 prevotes for this block. */
  readonly validRound: number;
  readonly blockId: string;
  readonly block: Block;
  readonly proposerAddress: string;
  readonly signature: Uint8Array;
}

export type UnsignedProposal = Omit<Proposal, 'signature' | 'block'>;

export interface CommitSignature {
  readonly validatorAddress: string;
  readonly signature: Uint8Array;
}

/** Precommits for `blockId` in `round`, ordered by validator index, holding more than 2/3 of the power. */
export interface Commit {
  readonly height: number;
  readonly round: number;
  readonly blockId: string;
  readonly signatures: readonly CommitSignature[];
}

/** What a signed message says, read back from its sign bytes. */
export interface SignedFields {
  readonly type: SignedMessageType;
  readonly height: number;
  readonly round: number;
  readonly blockId: string | null;
  /** −1 for votes and for proposals without a valid round. */
  readonly validRound: number;
  readonly chainId: string;
  readonly address: string;
}

/** An expected per-message failure, returned rather than thrown (STYLE rule 7). */
export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

export const CHECK_OK: CheckResult = { ok: true };

export function rejected(code: string, message: string): CheckResult {
  return { ok: false, code, message };
}

function signBytes(chainId: string, fields: Omit<SignedFields, 'chainId'>): Uint8Array {
  const writer = new ByteWriter(SIGN_BYTES_MAX, SIGN_BYTES_MAX);
  writer.fixed(DOMAIN_TAG, DOMAIN_TAG_BYTES).u8(SIGNED_MESSAGE_TYPE_CODE[fields.type]).u64(fields.height).u32(fields.round);
  if (fields.blockId === null) writer.u8(0).fixed(NIL_BLOCK_ID, BLOCK_ID_BYTES);
  else writer.u8(1).fixed(bytesOfHex(fields.blockId), BLOCK_ID_BYTES);
  writer.u32(fields.validRound + 1);
  writer.shortBytes(new TextEncoder().encode(chainId)).shortBytes(bytesOfHex(fields.address));
  return writer.bytes();
}

export function voteSignBytes(chainId: string, vote: UnsignedVote): Uint8Array {
  return signBytes(chainId, { type: vote.type, height: vote.height, round: vote.round, blockId: vote.blockId, validRound: -1, address: vote.validatorAddress });
}

export function proposalSignBytes(chainId: string, proposal: UnsignedProposal): Uint8Array {
  return signBytes(chainId, {
    type: 'proposal', height: proposal.height, round: proposal.round, blockId: proposal.blockId, validRound: proposal.validRound, address: proposal.proposerAddress,
  });
}

/** Reads sign bytes back (the sign guard's view of what it is asked to sign); throws ORBITFED_CONSENSUS_DECODE. */
export function parseSignBytes(bytes: Uint8Array): SignedFields {
  const reader = new ByteReader(bytes);
  const tag = reader.fixed(DOMAIN_TAG_BYTES);
  if (!tag.every((b, i) => b === DOMAIN_TAG[i])) throw decodeError('the domain tag is not ORBITFED-TM-V1');
  const type = TYPE_OF_CODE.get(reader.u8());
  if (type === undefined) throw decodeError('unknown message type');
  const height = reader.u64();
  const round = reader.u32();
  const hasValue = reader.u8();
  const id = reader.fixed(BLOCK_ID_BYTES);
  if (hasValue > 1 || (hasValue === 0 && !id.every((b) => b === 0)) || (type === 'proposal' && hasValue !== 1)) throw decodeError('malformed value');
  const validRoundPlusOne = reader.u32();
  if (type !== 'proposal' && validRoundPlusOne !== 0) throw decodeError('a vote has no valid round');
  const chainId = new TextDecoder().decode(reader.shortBytes());
  const address = hexOf(reader.shortBytes());
  reader.end();
  return { type, height, round, blockId: hasValue === 1 ? hexOf(id) : null, validRound: validRoundPlusOne - 1, chainId, address };
}

function decodeError(message: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CONSENSUS_DECODE', `sign bytes: ${message}`);
}

/**
 * A chain id we accept: lowercase letters, digits, '.' and '-', starting with a letter or digit,
 * at most 50 characters (CometBFT's MaxChainIDLen; the receipts' rule in canonical-bytes.ts allows
 * 64, so every chain id valid here is valid there).
 */
export function isChainId(chainId: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{0,49}$/.test(chainId);
}

export function isBlockId(text: unknown): text is string {
  return typeof text === 'string' && text.length === 2 * BLOCK_ID_BYTES && isHex(text);
}

function isAddress(text: unknown): text is string {
  return typeof text === 'string' && text.length > 0 && text.length <= 2 * ADDRESS_BYTES_MAX && isHex(text);
}

function isHeight(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= HEIGHT_MAX;
}

function isRound(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= ROUND_MAX;
}

function isSignature(s: unknown): s is Uint8Array {
  return s instanceof Uint8Array && s.length === SIGNATURE_BYTES;
}

/** Shape of a vote from the network: every field present, typed and in range. */
export function checkVoteShape(vote: Vote): CheckResult {
  if (vote.type !== 'prevote' && vote.type !== 'precommit') return rejected('ORBITFED_CONSENSUS_MALFORMED', 'vote type must be prevote or precommit');
  if (!isHeight(vote.height)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'vote height must be an integer ≥ 1');
  if (!isRound(vote.round)) return rejected('ORBITFED_CONSENSUS_MALFORMED', `vote round must be an integer in 0…${ROUND_MAX}`);
  if (vote.blockId !== null && !isBlockId(vote.blockId)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'vote block id must be 32 bytes of lowercase hex or nil');
  if (!isAddress(vote.validatorAddress)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'vote validator address must be lowercase hex');
  if (!isSignature(vote.signature)) return rejected('ORBITFED_CONSENSUS_MALFORMED', `vote signature must be ${SIGNATURE_BYTES} bytes`);
  return CHECK_OK;
}

/** Shape of a proposal from the network (the block inside is checked by the core against its chain). */
export function checkProposalShape(proposal: Proposal): CheckResult {
  if (!isHeight(proposal.height)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'proposal height must be an integer ≥ 1');
  if (!isRound(proposal.round)) return rejected('ORBITFED_CONSENSUS_MALFORMED', `proposal round must be an integer in 0…${ROUND_MAX}`);
  // Algorithm 1 line 28 accepts vr only with vr < round_p; a proposal with any other vr matches no rule.
  if (!Number.isSafeInteger(proposal.validRound) || proposal.validRound < -1 || proposal.validRound >= proposal.round) {
    return rejected('ORBITFED_CONSENSUS_MALFORMED', 'proposal valid round must be −1 or in 0…round − 1');
  }
  if (!isBlockId(proposal.blockId)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'proposal block id must be 32 bytes of lowercase hex');
  if (!isAddress(proposal.proposerAddress)) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'proposer address must be lowercase hex');
  if (!isSignature(proposal.signature)) return rejected('ORBITFED_CONSENSUS_MALFORMED', `proposal signature must be ${SIGNATURE_BYTES} bytes`);
  if (typeof proposal.block !== 'object' || proposal.block === null) return rejected('ORBITFED_CONSENSUS_MALFORMED', 'proposal carries no block');
  return CHECK_OK;
}

/** Shape, membership and signature of a vote; `index` is the validator's index in the set. */
export function verifyVote(chainId: string, set: ValidatorSet, vote: Vote, verify: VerifySignature): CheckResult & { readonly index?: number } {
  const shape = checkVoteShape(vote);
  if (!shape.ok) return shape;
  const index = set.indexByAddress.get(vote.validatorAddress);
  if (index === undefined) return rejected('ORBITFED_CONSENSUS_UNKNOWN_VALIDATOR', `${vote.validatorAddress} is not in the validator set`);
  if (!verify(set.validators[index]!.publicKey, voteSignBytes(chainId, vote), vote.signature)) {
    return rejected('ORBITFED_CONSENSUS_BAD_SIGNATURE', `vote signature of ${vote.validatorAddress} does not verify`);
  }
  return { ok: true, index };
}

/** Signature of a proposal by a member of the set (whether it is the round's proposer is the core's question). */
export function verifyProposalSignature(chainId: string, set: ValidatorSet, proposal: Proposal, verify: VerifySignature): CheckResult {
  const index = set.indexByAddress.get(proposal.proposerAddress);
  if (index === undefined) return rejected('ORBITFED_CONSENSUS_UNKNOWN_VALIDATOR', `${proposal.proposerAddress} is not in the validator set`);
  if (!verify(set.validators[index]!.publicKey, proposalSignBytes(chainId, proposal), proposal.signature)) {
    return rejected('ORBITFED_CONSENSUS_BAD_SIGNATURE', `proposal signature of ${proposal.proposerAddress} does not verify`);
  }
  return CHECK_OK;
}

/** The precommits of a commit as votes. */
export function commitVotes(commit: Commit): Vote[] {
  return commit.signatures.map((s) => ({
    type: 'precommit', height: commit.height, round: commit.round, blockId: commit.blockId, validatorAddress: s.validatorAddress, signature: s.signature,
  }));
}

/**
 * A commit proves a decision when its precommits are for its block, from distinct validators of the
 * set in index order, every signature verifies, and their power is a quorum (line 49's 2f + 1).
 */
export function verifyCommit(chainId: string, set: ValidatorSet, commit: Commit, verify: VerifySignature): CheckResult {
  if (!isHeight(commit.height) || !isRound(commit.round) || !isBlockId(commit.blockId)) return rejected('ORBITFED_COMMIT_MALFORMED', 'commit height, round or block id out of range');
  if (!Array.isArray(commit.signatures) || commit.signatures.length > set.validators.length) {
    return rejected('ORBITFED_COMMIT_MALFORMED', `a commit has at most one signature per validator (${set.validators.length})`);
  }
  let power = 0;
  let previousIndex = -1;
  for (const vote of commitVotes(commit)) {
    const checked = verifyVote(chainId, set, vote, verify);
    if (!checked.ok) return rejected('ORBITFED_COMMIT_BAD_SIGNATURE', checked.message);
    const index = checked.index!;
    if (index <= previousIndex) return rejected('ORBITFED_COMMIT_MALFORMED', 'commit signatures must be in validator order, one per validator');
    previousIndex = index;
    power += set.validators[index]!.votingPower;
  }
  if (!isQuorum(set, power)) {
    return rejected('ORBITFED_COMMIT_INSUFFICIENT_POWER', `commit holds ${power} of ${set.totalVotingPower} voting power; more than 2/3 (${set.quorumVotingPower}) is needed`);
  }
  return CHECK_OK;
}

/** Bytes of a commit, hashed into the next block's header. */
export function commitBytes(commit: Commit): Uint8Array {
  const writer = new ByteWriter(64 + commit.signatures.length * (1 + ADDRESS_BYTES_MAX + SIGNATURE_BYTES));
  writer.u64(commit.height).u32(commit.round).fixed(bytesOfHex(commit.blockId), BLOCK_ID_BYTES).u16(commit.signatures.length);
  for (const s of commit.signatures) writer.shortBytes(bytesOfHex(s.validatorAddress)).fixed(s.signature, SIGNATURE_BYTES);
  return writer.bytes();
}

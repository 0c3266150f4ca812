// What validators send each other and keep on disk: proposals (with their block), votes, commits
// with their block (catch-up), commit requests, duplicate-vote evidence and mempool transactions, as
// deterministic CBOR (dtn/'s shortest-form writer and strict reader). The signed parts of these
// messages are the fixed-layout sign bytes of tendermint-messages.ts and block.ts; this codec only
// carries the fields, so a decoded message is checked by the core exactly like one built in memory
// (signatures, shapes, hashes). Decoding is structural: types, lengths and counts, each bounded
// before anything is allocated, and nothing may trail the message.
//
// Layouts (arrays; ids, hashes, addresses and signatures as byte strings; −1 rounds as 0, others + 1):
//   vote       [type code, height, round, block id or h'', address, signature]
//   header     [chain id, height, time ms, previous block id or h'', previous app hash, last commit hash or h'', data hash, evidence hash, proposer]
//   block      [header, [tx…], [evidence…], [] | [commit]]
//   commit     [height, round, block id, [[address, signature]…]]
//   evidence   [vote A, vote B]
//   proposal   [height, round, valid round + 1, block id, block, proposer, signature]
//   message    [kind code, …fields]
import { CborReader, encodeCbor, type CborErrorCodes, type CborValue } from '../dtn/index.ts';
import { OrbitfedError } from '../common/index.ts';
import { bytesOfHex, hexOf } from './binary-layout.ts';
import type { Block, BlockHeader } from './block.ts';
import type { DuplicateVoteEvidence } from './evidence.ts';
import { SIGNED_MESSAGE_TYPE_CODE, type Commit, type Proposal, type Vote, type VoteType } from './tendermint-messages.ts';
import type { ValidBlockRecord } from './tendermint.ts';

/** Everything that travels between validators. */
export type ValidatorMessage =
  | { readonly kind: 'proposal'; readonly proposal: Proposal }
  | { readonly kind: 'vote'; readonly vote: Vote }
  /** A decided block and its commit, for a validator that is behind. */
  | { readonly kind: 'commit'; readonly block: Block; readonly commit: Commit }
  /** "Send me the blocks and commits from `height` on." */
  | { readonly kind: 'commit-request'; readonly height: number }
  | { readonly kind: 'evidence'; readonly evidence: DuplicateVoteEvidence }
  /** Mempool gossip: transactions a validator admitted, so that whoever proposes next has them. */
  | { readonly kind: 'txs'; readonly txs: readonly Uint8Array[] };

/** Bounds of the wire format (each a limit with a refusal at it). */
export interface ConsensusCodecLimits {
  readonly messageBytesMax: number;
  readonly txBytesMax: number;
  readonly txsMax: number;
  readonly evidenceMax: number;
  readonly signaturesMax: number;
}

export const CONSENSUS_CODEC_LIMITS_DEFAULT: ConsensusCodecLimits = {
  messageBytesMax: 16 * 1024 * 1024,
  txBytesMax: 64 * 1024,
  txsMax: 20_000,
  evidenceMax: 32,
  signaturesMax: 256,
};

const KIND_CODE = { proposal: 1, vote: 2, commit: 3, 'commit-request': 4, evidence: 5, txs: 6 } as const;
const VOTE_TYPE_OF_CODE = new Map<number, VoteType>([[SIGNED_MESSAGE_TYPE_CODE.prevote, 'prevote'], [SIGNED_MESSAGE_TYPE_CODE.precommit, 'precommit']]);
const CODES: CborErrorCodes = { truncated: 'ORBITFED_CONSENSUS_DECODE', malformed: 'ORBITFED_CONSENSUS_DECODE', invalid: 'ORBITFED_CONSENSUS_DECODE' };
const ID_BYTES = 32;
const ADDRESS_BYTES_MAX = 64;
const SIGNATURE_BYTES = 64;
const APP_HASH_BYTES_MAX = 64;
const CHAIN_ID_BYTES_MAX = 50;
const ROUND_MAX = 0xffff_ffff;

const optionalId = (id: string | null): Uint8Array => (id === null ? new Uint8Array(0) : bytesOfHex(id));

function voteValue(vote: Vote): CborValue {
  return [SIGNED_MESSAGE_TYPE_CODE[vote.type], vote.height, vote.round, optionalId(vote.blockId), bytesOfHex(vote.validatorAddress), vote.signature];
}

function headerValue(h: BlockHeader): CborValue {
  return [
    h.chainId, h.height, h.timeMs, optionalId(h.previousBlockId), bytesOfHex(h.previousAppHash), optionalId(h.lastCommitHash),
    bytesOfHex(h.dataHash), bytesOfHex(h.evidenceHash), bytesOfHex(h.proposerAddress),
  ];
}

function commitValue(commit: Commit): CborValue {
  return [commit.height, commit.round, bytesOfHex(commit.blockId), commit.signatures.map((s) => [bytesOfHex(s.validatorAddress), s.signature])];
}

function evidenceValue(evidence: DuplicateVoteEvidence): CborValue {
  return [voteValue(evidence.voteA), voteValue(evidence.voteB)];
}

function blockValue(block: Block): CborValue {
  return [headerValue(block.header), block.txs, block.evidence.map(evidenceValue), block.lastCommit === null ? [] : [commitValue(block.lastCommit)]];
}

function messageValue(message: ValidatorMessage): CborValue {
  const code = KIND_CODE[message.kind];
  switch (message.kind) {
    case 'proposal': {
      const p = message.proposal;
      return [code, p.height, p.round, p.validRound + 1, bytesOfHex(p.blockId), blockValue(p.block), bytesOfHex(p.proposerAddress), p.signature];
    }
    case 'vote':
      return [code, voteValue(message.vote)];
    case 'commit':
      return [code, blockValue(message.block), commitValue(message.commit)];
    case 'commit-request':
      return [code, message.height];
    case 'evidence':
      return [code, evidenceValue(message.evidence)];
    case 'txs':
      return [code, message.txs];
  }
}

export function encodeValidatorMessage(message: ValidatorMessage): Uint8Array {
  return encodeCbor(messageValue(message));
}

/** A decided block and its commit as stored on disk (the same layout as the wire's). */
export function encodeBlock(block: Block): Uint8Array {
  return encodeCbor(blockValue(block));
}

export function encodeCommit(commit: Commit): Uint8Array {
  return encodeCbor(commitValue(commit));
}

/** The block the core asked to keep (L42–43's validValue) with its round and proof-of-lock: [round, block, [vote…]]. */
export function encodeValidBlockRecord(record: ValidBlockRecord): Uint8Array {
  return encodeCbor([record.round, blockValue(record.block), record.proofOfLock.map(voteValue)]);
}

/** Reads one message, refusing anything beyond the limits or trailing it (ORBITFED_CONSENSUS_DECODE). */
export function decodeValidatorMessage(bytes: Uint8Array, limits: ConsensusCodecLimits = CONSENSUS_CODEC_LIMITS_DEFAULT): ValidatorMessage {
  if (bytes.length > limits.messageBytesMax) {
    throw new OrbitfedError('ORBITFED_CONSENSUS_DECODE', `message of ${bytes.length} bytes; at most ${limits.messageBytesMax}`);
  }
  const r = new Decoder(bytes, limits);
  const message = r.message();
  r.end();
  return message;
}

export function decodeBlock(bytes: Uint8Array, limits: ConsensusCodecLimits = CONSENSUS_CODEC_LIMITS_DEFAULT): Block {
  const r = new Decoder(bytes, limits);
  const block = r.block('block');
  r.end();
  return block;
}

export function decodeValidBlockRecord(bytes: Uint8Array, limits: ConsensusCodecLimits = CONSENSUS_CODEC_LIMITS_DEFAULT): ValidBlockRecord {
  const r = new Decoder(bytes, limits);
  const record = r.validBlockRecord();
  r.end();
  return record;
}

export function decodeCommit(bytes: Uint8Array, limits: ConsensusCodecLimits = CONSENSUS_CODEC_LIMITS_DEFAULT): Commit {
  const r = new Decoder(bytes, limits);
  const commit = r.commit('commit');
  r.end();
  return commit;
}

class Decoder {
  readonly #r: CborReader;
  readonly #bytes: Uint8Array;
  readonly #limits: ConsensusCodecLimits;

  constructor(bytes: Uint8Array, limits: ConsensusCodecLimits) {
    this.#r = new CborReader(bytes, CODES);
    this.#bytes = bytes;
    this.#limits = limits;
  }

  end(): void {
    if (this.#r.offset !== this.#bytes.length) this.#fail('message', `${this.#bytes.length - this.#r.offset} bytes after the message`);
  }

  #fail(field: string, message: string): never {
    return this.#r.fail('invalid', field, message);
  }

  #array(field: string, length: number): void {
    const n = this.#r.readArrayHeader(field);
    if (n !== length) this.#fail(field, `expected ${length} items, found ${n}`);
  }

  #list(field: string, max: number): number {
    const n = this.#r.readArrayHeader(field);
    if (n > max) this.#fail(field, `${n} items; at most ${max}`);
    return n;
  }

  #id(field: string): string {
    const bytes = this.#r.readBytes(field, ID_BYTES);
    if (bytes.length !== ID_BYTES) this.#fail(field, `an id is ${ID_BYTES} bytes, found ${bytes.length}`);
    return hexOf(bytes);
  }

  #optionalId(field: string): string | null {
    const bytes = this.#r.readBytes(field, ID_BYTES);
    if (bytes.length === 0) return null;
    if (bytes.length !== ID_BYTES) this.#fail(field, `an id is ${ID_BYTES} bytes or empty, found ${bytes.length}`);
    return hexOf(bytes);
  }

  #address(field: string): string {
    const bytes = this.#r.readBytes(field, ADDRESS_BYTES_MAX);
    if (bytes.length === 0) this.#fail(field, 'an address is not empty');
    return hexOf(bytes);
  }

  #signature(field: string): Uint8Array {
    const bytes = this.#r.readBytes(field, SIGNATURE_BYTES);
    if (bytes.length !== SIGNATURE_BYTES) this.#fail(field, `a signature is ${SIGNATURE_BYTES} bytes, found ${bytes.length}`);
    return bytes;
  }

  vote(field: string): Vote {
    this.#array(field, 6);
    const code = this.#r.readUint(`${field}.type`, 0xff);
    const type = VOTE_TYPE_OF_CODE.get(code);
    if (type === undefined) this.#fail(`${field}.type`, `${code} is not a vote type`);
    const height = this.#r.readUint(`${field}.height`);
    const round = this.#r.readUint(`${field}.round`, ROUND_MAX);
    const blockId = this.#optionalId(`${field}.blockId`);
    const validatorAddress = this.#address(`${field}.validatorAddress`);
    const signature = this.#signature(`${field}.signature`);
    return { type, height, round, blockId, validatorAddress, signature };
  }

  header(field: string): BlockHeader {
    this.#array(field, 9);
    const chainId = this.#r.readText(`${field}.chainId`, CHAIN_ID_BYTES_MAX);
    const height = this.#r.readUint(`${field}.height`);
    const timeMs = this.#r.readUint(`${field}.timeMs`);
    const previousBlockId = this.#optionalId(`${field}.previousBlockId`);
    const previousAppHash = hexOf(this.#r.readBytes(`${field}.previousAppHash`, APP_HASH_BYTES_MAX));
    const lastCommitHash = this.#optionalId(`${field}.lastCommitHash`);
    const dataHash = this.#id(`${field}.dataHash`);
    const evidenceHash = this.#id(`${field}.evidenceHash`);
    const proposerAddress = this.#address(`${field}.proposerAddress`);
    return { chainId, height, timeMs, previousBlockId, previousAppHash, lastCommitHash, dataHash, evidenceHash, proposerAddress };
  }

  commit(field: string): Commit {
    this.#array(field, 4);
    const height = this.#r.readUint(`${field}.height`);
    const round = this.#r.readUint(`${field}.round`, ROUND_MAX);
    const blockId = this.#id(`${field}.blockId`);
    const n = this.#list(`${field}.signatures`, this.#limits.signaturesMax);
    const signatures = [];
    for (let i = 0; i < n; i++) {
      this.#array(`${field}.signatures[${i}]`, 2);
      signatures.push({ validatorAddress: this.#address(`${field}.signatures[${i}].validatorAddress`), signature: this.#signature(`${field}.signatures[${i}].signature`) });
    }
    return { height, round, blockId, signatures };
  }

  evidence(field: string): DuplicateVoteEvidence {
    this.#array(field, 2);
    return { voteA: this.vote(`${field}.voteA`), voteB: this.vote(`${field}.voteB`) };
  }

  txs(field: string): Uint8Array[] {
    const n = this.#list(field, this.#limits.txsMax);
    const txs = [];
    for (let i = 0; i < n; i++) txs.push(this.#r.readBytes(`${field}[${i}]`, this.#limits.txBytesMax));
    return txs;
  }

  block(field: string): Block {
    this.#array(field, 4);
    const header = this.header(`${field}.header`);
    const txs = this.txs(`${field}.txs`);
    const evidenceCount = this.#list(`${field}.evidence`, this.#limits.evidenceMax);
    const evidence = [];
    for (let i = 0; i < evidenceCount; i++) evidence.push(this.evidence(`${field}.evidence[${i}]`));
    const commits = this.#list(`${field}.lastCommit`, 1);
    const lastCommit = commits === 0 ? null : this.commit(`${field}.lastCommit`);
    return { header, txs, evidence, lastCommit };
  }

  validBlockRecord(): ValidBlockRecord {
    this.#array('validBlock', 3);
    const round = this.#r.readUint('validBlock.round', ROUND_MAX);
    const block = this.block('validBlock.block');
    const n = this.#list('validBlock.proofOfLock', this.#limits.signaturesMax);
    const proofOfLock = [];
    for (let i = 0; i < n; i++) proofOfLock.push(this.vote(`validBlock.proofOfLock[${i}]`));
    return { round, block, proofOfLock };
  }

  message(): ValidatorMessage {
    const items = this.#r.readArrayHeader('message');
    if (items < 2) this.#fail('message', `a message has a kind and fields; found ${items} items`);
    const code = this.#r.readUint('message.kind', 0xff);
    const expect = (n: number): void => {
      if (items !== n) this.#fail('message', `kind ${code} has ${n - 1} fields, found ${items - 1}`);
    };
    switch (code) {
      case KIND_CODE.proposal: {
        expect(8);
        const height = this.#r.readUint('proposal.height');
        const round = this.#r.readUint('proposal.round', ROUND_MAX);
        const validRound = this.#r.readUint('proposal.validRound', ROUND_MAX) - 1;
        const blockId = this.#id('proposal.blockId');
        const block = this.block('proposal.block');
        const proposerAddress = this.#address('proposal.proposerAddress');
        const signature = this.#signature('proposal.signature');
        return { kind: 'proposal', proposal: { height, round, validRound, blockId, block, proposerAddress, signature } };
      }
      case KIND_CODE.vote:
        expect(2);
        return { kind: 'vote', vote: this.vote('vote') };
      case KIND_CODE.commit:
        expect(3);
        return { kind: 'commit', block: this.block('block'), commit: this.commit('commit') };
      case KIND_CODE['commit-request']:
        expect(2);
        return { kind: 'commit-request', height: this.#r.readUint('height') };
      case KIND_CODE.evidence:
        expect(2);
        return { kind: 'evidence', evidence: this.evidence('evidence') };
      case KIND_CODE.txs:
        expect(2);
        return { kind: 'txs', txs: this.txs('txs') };
      default:
        return this.#fail('message.kind', `${code} is not a message kind`);
    }
  }
}

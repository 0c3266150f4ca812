// The value Tendermint decides on: a block. Its id, id(v) in Algorithm 1, is the SHA-256 of the
// header's fixed-layout bytes; the header commits to everything else in the block through hashes
// (transactions, evidence, the previous height's commit), so equal ids mean equal blocks, which is
// what the paper asks of id(v). As the issue asks, a block carries the application's hash after the
// previous height (`previousAppHash`), so a decided block also fixes the state it was built on, and
// the commit of the previous height (> 2/3 of the precommits that decided it).
//
// Header bytes, big-endian:
//   16   tag "ORBITFED-BLK-V1", NUL-padded
//   1+L  chain id (u8 length, ASCII)
//   8    height, u64
//   8    time, Unix ms, u64
//   1+32 previous block id (flag 0 and zeros at height 1)
//   1+A  previous app hash (u8 length, 0–64 bytes)
//   1+32 last commit hash (flag 0 and zeros at height 1)
//   32   data hash: SHA-256 over u32 count, then each transaction as u32 length + bytes
//   32   evidence hash: SHA-256 over u32 count, then each piece of evidence as u32 length + bytes
//   1+A  proposer address (u8 length)
// Plain hashes over lists rather than CometBFT's Merkle trees: nothing here proves inclusion of one
// transaction to a light client; the ids only have to be collision resistant.
import { createHash } from 'node:crypto';
import { ByteWriter, bytesOfHex, isHex } from './binary-layout.ts';
import { evidenceBytes, type DuplicateVoteEvidence } from './evidence.ts';
import {
  BLOCK_ID_BYTES, CHECK_OK, commitBytes, isBlockId, isChainId, rejected, type CheckResult, type Commit,
} from './tendermint-messages.ts';

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  /** Proposer's clock, Unix ms; strictly after the previous block's (checked by the core). */
  readonly timeMs: number;
  /** id of block height − 1; null at height 1. */
  readonly previousBlockId: string | null;
  /** The application's hash after height − 1 (after InitChain at height 1): lowercase hex, 0–64 bytes. */
  readonly previousAppHash: string;
  /** Hash of `lastCommit`; null at height 1. */
  readonly lastCommitHash: string | null;
  readonly dataHash: string;
  readonly evidenceHash: string;
  readonly proposerAddress: string;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Uint8Array[];
  readonly evidence: readonly DuplicateVoteEvidence[];
  /** The commit of height − 1 the proposer holds; null at height 1. */
  readonly lastCommit: Commit | null;
}

/** Bounds on a block's contents (each checked before anything is hashed). */
export interface BlockLimits {
  /** Sum of transaction bytes; CometBFT's default block is 21 MB, ours carries receipts and is smaller. */
  readonly txsBytesMax: number;
  readonly txsMax: number;
  readonly evidenceMax: number;
}

export const BLOCK_LIMITS_DEFAULT: BlockLimits = { txsBytesMax: 4 * 1024 * 1024, txsMax: 20_000, evidenceMax: 32 };
export const APP_HASH_BYTES_MAX = 64;
const HEADER_TAG = (() => {
  const tag = new Uint8Array(16);
  tag.set(new TextEncoder().encode('ORBITFED-BLK-V1'));
  return tag;
})();
const ZERO_ID = new Uint8Array(BLOCK_ID_BYTES);

function sha256Hex(chunks: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/** u32 count, then u32 length and bytes of each item, in one buffer (hashed at once: one call, not three per item). */
function lengthPrefixed(items: readonly Uint8Array[]): Uint8Array[] {
  let size = 4;
  for (const item of items) size += 4 + item.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, items.length);
  let at = 4;
  for (const item of items) {
    view.setUint32(at, item.length);
    bytes.set(item, at + 4);
    at += 4 + item.length;
  }
  return [bytes];
}

export function txsHash(txs: readonly Uint8Array[]): string {
  return sha256Hex(lengthPrefixed(txs));
}

export function evidenceListHash(chainId: string, evidence: readonly DuplicateVoteEvidence[]): string {
  return sha256Hex(lengthPrefixed(evidence.map((e) => evidenceBytes(chainId, e))));
}

export function commitHash(commit: Commit): string {
  return sha256Hex([commitBytes(commit)]);
}

export function headerBytes(header: BlockHeader): Uint8Array {
  const writer = new ByteWriter(512);
  writer.fixed(HEADER_TAG, HEADER_TAG.length).shortBytes(new TextEncoder().encode(header.chainId)).u64(header.height).u64(header.timeMs);
  if (header.previousBlockId === null) writer.u8(0).fixed(ZERO_ID, BLOCK_ID_BYTES);
  else writer.u8(1).fixed(bytesOfHex(header.previousBlockId), BLOCK_ID_BYTES);
  writer.shortBytes(bytesOfHex(header.previousAppHash));
  if (header.lastCommitHash === null) writer.u8(0).fixed(ZERO_ID, BLOCK_ID_BYTES);
  else writer.u8(1).fixed(bytesOfHex(header.lastCommitHash), BLOCK_ID_BYTES);
  writer.fixed(bytesOfHex(header.dataHash), BLOCK_ID_BYTES).fixed(bytesOfHex(header.evidenceHash), BLOCK_ID_BYTES);
  writer.shortBytes(bytesOfHex(header.proposerAddress));
  return writer.bytes();
}

const ids = new WeakMap<BlockHeader, string>();

/** id(v): SHA-256 of the header bytes (memoised per header object; headers are never mutated). */
export function blockIdOf(block: Block): string {
  let id = ids.get(block.header);
  if (id === undefined) {
    id = sha256Hex([headerBytes(block.header)]);
    ids.set(block.header, id);
  }
  return id;
}

export interface BlockContents {
  readonly chainId: string;
  readonly height: number;
  readonly timeMs: number;
  readonly previousBlockId: string | null;
  readonly previousAppHash: string;
  readonly proposerAddress: string;
  readonly txs: readonly Uint8Array[];
  readonly evidence: readonly DuplicateVoteEvidence[];
  readonly lastCommit: Commit | null;
}

/** A block whose header hashes its contents. */
export function makeBlock(contents: BlockContents): Block {
  const header: BlockHeader = {
    chainId: contents.chainId,
    height: contents.height,
    timeMs: contents.timeMs,
    previousBlockId: contents.previousBlockId,
    previousAppHash: contents.previousAppHash,
    lastCommitHash: contents.lastCommit === null ? null : commitHash(contents.lastCommit),
    dataHash: txsHash(contents.txs),
    evidenceHash: evidenceListHash(contents.chainId, contents.evidence),
    proposerAddress: contents.proposerAddress,
  };
  return { header, txs: contents.txs, evidence: contents.evidence, lastCommit: contents.lastCommit };
}

/**
 * A block from the network is well formed: fields typed and in range, contents within `limits`,
 * and the header's hashes match the contents. Whether it extends our chain is the core's check.
 */
export function checkBlockContents(block: Block, limits: BlockLimits): CheckResult {
  const h = block.header;
  if (typeof h !== 'object' || h === null) return rejected('ORBITFED_BLOCK_MALFORMED', 'block has no header');
  if (!isChainId(h.chainId)) return rejected('ORBITFED_BLOCK_MALFORMED', 'chain id must be 1–50 lowercase letters, digits, dots or dashes');
  if (!Number.isSafeInteger(h.height) || h.height < 1) return rejected('ORBITFED_BLOCK_MALFORMED', 'height must be an integer ≥ 1');
  if (!Number.isSafeInteger(h.timeMs) || h.timeMs < 0) return rejected('ORBITFED_BLOCK_MALFORMED', 'time must be a non-negative integer of Unix ms');
  if (h.previousBlockId !== null && !isBlockId(h.previousBlockId)) return rejected('ORBITFED_BLOCK_MALFORMED', 'previous block id must be 32 bytes of hex');
  if (typeof h.previousAppHash !== 'string' || !isHex(h.previousAppHash) || h.previousAppHash.length > 2 * APP_HASH_BYTES_MAX) {
    return rejected('ORBITFED_BLOCK_MALFORMED', `previous app hash must be 0–${APP_HASH_BYTES_MAX} bytes of hex`);
  }
  if (h.lastCommitHash !== null && !isBlockId(h.lastCommitHash)) return rejected('ORBITFED_BLOCK_MALFORMED', 'last commit hash must be 32 bytes of hex');
  if (!isBlockId(h.dataHash) || !isBlockId(h.evidenceHash)) return rejected('ORBITFED_BLOCK_MALFORMED', 'data and evidence hashes must be 32 bytes of hex');
  if (typeof h.proposerAddress !== 'string' || h.proposerAddress.length === 0 || !isHex(h.proposerAddress)) return rejected('ORBITFED_BLOCK_MALFORMED', 'proposer address must be hex');
  if (!Array.isArray(block.txs) || block.txs.length > limits.txsMax) return rejected('ORBITFED_BLOCK_TOO_LARGE', `a block carries at most ${limits.txsMax} transactions`);
  let bytes = 0;
  for (const tx of block.txs) {
    if (!(tx instanceof Uint8Array)) return rejected('ORBITFED_BLOCK_MALFORMED', 'transactions must be bytes');
    bytes += tx.length;
  }
  if (bytes > limits.txsBytesMax) return rejected('ORBITFED_BLOCK_TOO_LARGE', `transactions hold ${bytes} bytes; at most ${limits.txsBytesMax}`);
  if (!Array.isArray(block.evidence) || block.evidence.length > limits.evidenceMax) return rejected('ORBITFED_BLOCK_TOO_LARGE', `a block carries at most ${limits.evidenceMax} pieces of evidence`);
  if ((block.lastCommit === null) !== (h.lastCommitHash === null)) return rejected('ORBITFED_BLOCK_MALFORMED', 'last commit and its hash must be both present or both absent');
  if (txsHash(block.txs) !== h.dataHash) return rejected('ORBITFED_BLOCK_HASH_MISMATCH', 'data hash does not match the transactions');
  try {
    if (evidenceListHash(h.chainId, block.evidence) !== h.evidenceHash) return rejected('ORBITFED_BLOCK_HASH_MISMATCH', 'evidence hash does not match the evidence');
    if (block.lastCommit !== null && commitHash(block.lastCommit) !== h.lastCommitHash) return rejected('ORBITFED_BLOCK_HASH_MISMATCH', 'last commit hash does not match the commit');
  } catch (error) {
    // Fields the encoder asserts on (a malformed vote inside evidence or a commit) make the block malformed, not the process fail.
    return rejected('ORBITFED_BLOCK_MALFORMED', `cannot hash the block's evidence or commit: ${(error as Error).message}`);
  }
  return CHECK_OK;
}

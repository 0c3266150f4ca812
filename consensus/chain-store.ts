// A validator's disk: the decided blocks with their commits and app hashes, the block the core asked
// to keep (validValue with its proof-of-lock), the keys of committed evidence, and snapshots of the
// ledger. One SQLite file opened through common/durable-database.ts (WAL, synchronous=FULL, one
// process), so a height that `append` returned for survives power loss.
//
// Order of writes, and why it is enough:
// - A decided block is stored (one transaction: block, commit, app hash, its evidence keys) before
//   the node moves to the next height. A crash after the store and before the next height restarts
//   at the next height; a crash before it restarts at the same height, where the core decides it
//   again (the commit is in the peers' hands; catch-up brings it).
// - Snapshots are taken after a block is stored; a restart restores the newest snapshot and replays
//   the stored blocks after it, checking each app hash against the stored one.
// - Blocks more than `blocksRetained` heights below the newest snapshot are pruned: a peer that far
//   behind needs a snapshot (state sync), which is left for later.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { existsSync } from 'node:fs';
import { databaseError, openDurableDatabase, OrbitfedError, type DatabaseKind } from '../common/index.ts';
import { blockIdOf, type Block } from './block.ts';
import {
  decodeBlock, decodeCommit, decodeValidBlockRecord, encodeBlock, encodeCommit, encodeValidBlockRecord, type ConsensusCodecLimits,
  CONSENSUS_CODEC_LIMITS_DEFAULT,
} from './consensus-codec.ts';
import { evidenceHeight, evidenceKey } from './evidence.ts';
import type { Commit } from './tendermint-messages.ts';
import type { ValidBlockRecord } from './tendermint.ts';

/** `PRAGMA application_id` of a validator's chain store: "OFCS" in ASCII. */
export const ORBITFED_CHAIN_STORE_ID = 0x4f464353;
export const CHAIN_STORE_SCHEMA_VERSION = 1;

const SCHEMA_SQL = `
CREATE TABLE blocks (
  height INTEGER PRIMARY KEY,
  block_id TEXT NOT NULL,
  block BLOB NOT NULL,
  commit_bytes BLOB NOT NULL,
  app_hash TEXT NOT NULL
);
CREATE TABLE evidence (
  key TEXT PRIMARY KEY,
  height INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE valid_block (
  height INTEGER PRIMARY KEY,
  record BLOB NOT NULL
);
CREATE TABLE snapshots (
  height INTEGER PRIMARY KEY,
  app_hash TEXT NOT NULL,
  bytes BLOB NOT NULL
);
`;

const CHAIN_STORE: DatabaseKind = {
  name: 'chain store',
  applicationId: ORBITFED_CHAIN_STORE_ID,
  schemaVersion: CHAIN_STORE_SCHEMA_VERSION,
  schemaSql: SCHEMA_SQL,
  tables: ['blocks', 'evidence', 'snapshots', 'valid_block'],
};

/** How many snapshots are kept (the newest and the one before, in case the newest is unreadable). */
const SNAPSHOTS_KEPT = 2;

export interface StoredBlock {
  readonly height: number;
  readonly blockId: string;
  readonly block: Block;
  readonly commit: Commit;
  /** The application's hash after this block. */
  readonly appHash: string;
}

export interface StoredSnapshot {
  readonly height: number;
  readonly appHash: string;
  readonly bytes: Uint8Array;
}

export interface ChainStoreOptions {
  /** Blocks kept below the newest snapshot, for peers catching up; default 10,000. */
  readonly blocksRetained?: number;
  readonly codecLimits?: ConsensusCodecLimits;
}

export class ChainStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #blocksRetained: number;
  readonly #limits: ConsensusCodecLimits;
  readonly #insertBlock: StatementSync;
  readonly #insertEvidence: StatementSync;
  readonly #selectBlock: StatementSync;
  #height: number;

  private constructor(db: DatabaseSync, path: string, options: ChainStoreOptions) {
    this.#db = db;
    this.#path = path;
    this.#blocksRetained = options.blocksRetained ?? 10_000;
    this.#limits = options.codecLimits ?? CONSENSUS_CODEC_LIMITS_DEFAULT;
    this.#insertBlock = db.prepare('INSERT INTO blocks (height, block_id, block, commit_bytes, app_hash) VALUES (?, ?, ?, ?, ?)');
    this.#insertEvidence = db.prepare('INSERT OR IGNORE INTO evidence (key, height) VALUES (?, ?)');
    this.#selectBlock = db.prepare('SELECT height, block_id, block, commit_bytes, app_hash FROM blocks WHERE height = ?');
    const row = db.prepare('SELECT MAX(height) AS height FROM blocks').get() as { height: number | null };
    this.#height = row.height ?? 0;
  }

  /** Opens (creating if missing) the chain store at `path`; errors are ORBITFED_STORE_* naming the file. */
  static open(path: string, options: ChainStoreOptions = {}): ChainStore {
    const db = openDurableDatabase(path, existsSync(path), CHAIN_STORE);
    try {
      return new ChainStore(db, path, options);
    } catch (error) {
      db.close();
      throw databaseError(error, CHAIN_STORE.name, path, 'reading the newest height');
    }
  }

  /** The newest stored height (0: none). */
  get height(): number {
    return this.#height;
  }

  /** Stores decided block `height` (exactly the next one) with its commit and app hash, durably. */
  append(stored: StoredBlock): void {
    if (stored.height !== this.#height + 1) {
      throw new OrbitfedError('ORBITFED_CHAIN_STORE_ORDER', `the chain store holds heights 1 … ${this.#height}; cannot append ${stored.height}`, { file: this.#path });
    }
    this.#write('storing a block', () => {
      this.#insertBlock.run(stored.height, stored.blockId, encodeBlock(stored.block), encodeCommit(stored.commit), stored.appHash);
      for (const evidence of stored.block.evidence) this.#insertEvidence.run(evidenceKey(evidence), evidenceHeight(evidence));
      this.#db.prepare('DELETE FROM valid_block WHERE height <= ?').run(stored.height);
    });
    this.#height = stored.height;
  }

  /** Block `height` as stored, checked (its id is recomputed); undefined when not stored (or pruned). */
  block(height: number): StoredBlock | undefined {
    const row = this.#read('reading a block', () => this.#selectBlock.get(height)) as
      | { height: number; block_id: string; block: Uint8Array; commit_bytes: Uint8Array; app_hash: string }
      | undefined;
    if (row === undefined) return undefined;
    const block = decodeBlock(row.block, this.#limits);
    const commit = decodeCommit(row.commit_bytes, this.#limits);
    if (blockIdOf(block) !== row.block_id || commit.blockId !== row.block_id || block.header.height !== height) {
      throw new OrbitfedError('ORBITFED_STORE_CORRUPT', `stored block ${height} does not hash to its id ${row.block_id}`, { file: this.#path });
    }
    return { height, blockId: row.block_id, block, commit, appHash: row.app_hash };
  }

  /** Keys of evidence committed at heights ≥ `fromHeight`. */
  committedEvidence(fromHeight: number): { key: string; height: number }[] {
    return this.#read('reading evidence', () => this.#db.prepare('SELECT key, height FROM evidence WHERE height >= ? ORDER BY height').all(fromHeight)) as { key: string; height: number }[];
  }

  saveValidBlock(height: number, record: ValidBlockRecord): void {
    this.#write('storing the valid block', () => {
      this.#db.prepare('INSERT OR REPLACE INTO valid_block (height, record) VALUES (?, ?)').run(height, encodeValidBlockRecord(record));
    });
  }

  validBlock(height: number): ValidBlockRecord | null {
    const row = this.#read('reading the valid block', () => this.#db.prepare('SELECT record FROM valid_block WHERE height = ?').get(height)) as { record: Uint8Array } | undefined;
    return row === undefined ? null : decodeValidBlockRecord(row.record, this.#limits);
  }

  /** Stores a ledger snapshot taken after `height`; keeps the newest two; prunes blocks far below. */
  saveSnapshot(snapshot: StoredSnapshot): void {
    this.#write('storing a snapshot', () => {
      this.#db.prepare('INSERT OR REPLACE INTO snapshots (height, app_hash, bytes) VALUES (?, ?, ?)').run(snapshot.height, snapshot.appHash, snapshot.bytes);
      this.#db.prepare(`DELETE FROM snapshots WHERE height NOT IN (SELECT height FROM snapshots ORDER BY height DESC LIMIT ${SNAPSHOTS_KEPT})`).run();
      this.#db.prepare('DELETE FROM blocks WHERE height < ?').run(snapshot.height - this.#blocksRetained);
    });
  }

  /** The stored snapshots' heights and app hashes, newest first, without their bytes (tens of MB each). */
  snapshotHeads(): { height: number; appHash: string }[] {
    const rows = this.#read('reading snapshots', () => this.#db.prepare('SELECT height, app_hash FROM snapshots ORDER BY height DESC').all()) as
      { height: number; app_hash: string }[];
    return rows.map((r) => ({ height: r.height, appHash: r.app_hash }));
  }

  /** The snapshot taken after `height`; undefined when none is stored. */
  snapshot(height: number): StoredSnapshot | undefined {
    const row = this.#read('reading a snapshot', () => this.#db.prepare('SELECT height, app_hash, bytes FROM snapshots WHERE height = ?').get(height)) as
      { height: number; app_hash: string; bytes: Uint8Array } | undefined;
    return row === undefined ? undefined : { height: row.height, appHash: row.app_hash, bytes: row.bytes };
  }

  /** The lowest height still stored (1 before any pruning; 0 when empty). */
  lowestHeight(): number {
    const row = this.#read('reading the lowest height', () => this.#db.prepare('SELECT MIN(height) AS height FROM blocks').get()) as { height: number | null };
    return row.height ?? 0;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #write(doing: string, work: () => void): void {
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      work();
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw databaseError(error, CHAIN_STORE.name, this.#path, doing);
    }
  }

  #read<T>(doing: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw databaseError(error, CHAIN_STORE.name, this.#path, doing);
    }
  }
}

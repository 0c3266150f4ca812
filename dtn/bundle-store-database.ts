// The SQLite file under the bundle store (bundle-store.ts): opening it with durable settings,
// recognising and refusing files that are not ours, the schema and its version, and turning SQLite's
// errors into orbitfed codes. Nothing here knows what a bundle means; bundle-store.ts does.
//
// Settings, and why (https://sqlite.org/pragma.html, https://sqlite.org/wal.html):
// - `journal_mode=WAL`: a commit appends to the write-ahead log and syncs that one file, instead of
//   a rollback journal plus the database file plus (for a new journal) its directory.
// - `synchronous=FULL`: in WAL mode, FULL syncs the log at every commit, so a transaction that has
//   returned survives power loss and an OS crash. NORMAL syncs only at checkpoints: the database
//   stays consistent but "a transaction committed in WAL mode with synchronous=NORMAL might roll
//   back following a power loss or system crash" (wal.html, "Performance Considerations"). A commit
//   is the moment a convergence layer acknowledges a bundle to its peer, so NORMAL is not enough.
//   (Node's SQLite is compiled with DEFAULT_WAL_SYNCHRONOUS=2, i.e. FULL already; we set it anyway
//   so the guarantee does not hang on a build flag.) On macOS F_FULLFSYNC would be needed as well
//   (`fullfsync`); the agents run on Linux, where fsync/fdatasync reach the device.
// - `locking_mode=EXCLUSIVE`, set before the first access: one process owns the store. Its
//   in-memory state (what is in flight, the totals) is only right if nobody else writes the file, and
//   a second agent started on the same path by mistake gets ORBITFED_STORE_LOCKED instead of
//   corrupting the first one's view. In WAL mode this also keeps the WAL index in heap memory, so
//   there is no `-shm` file (wal.html §8, "Use of WAL Without Shared-Memory"). The lock is an OS
//   file lock, released when the process dies, even by SIGKILL.
// - `cell_size_check=ON`: a cheap extra check of every b-tree page read, so a damaged page is
//   reported as SQLITE_CORRUPT instead of being misread.
// - `journal_size_limit`: a 10 MB bundle makes the WAL at least that big; after a checkpoint the
//   file is truncated back to this size instead of staying at its high-water mark forever.
// - `trusted_schema=OFF` and defensive mode: nothing in the file can run code or be used to corrupt
//   it through SQL (we never run SQL from outside, but a foreign file should stay inert).
//
// Recognising our file: `application_id` (offset 68 of the header) holds ORBITFED_BUNDLE_STORE_ID
// and `user_version` (offset 60) the schema version, both written in the same transaction as the
// tables, so a crash while creating a store leaves either an empty file (created again on the next
// open) or a complete one (https://sqlite.org/fileformat2.html, "The Database Header").
import { DatabaseSync } from 'node:sqlite';
import { OrbitfedError, syncDirectoryOf } from '../common/index.ts';

/** Schema version of the store, kept in `PRAGMA user_version`; bump with a migration in `openStoreDatabase`. */
export const BUNDLE_STORE_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` of an orbitfed bundle store: "OFBS" in ASCII. */
export const ORBITFED_BUNDLE_STORE_ID = 0x4f464253;
/** The WAL file is truncated back to this size after a checkpoint. */
const WAL_SIZE_BYTES_KEPT = 16 * 1024 * 1024;

// Two tables so the metadata rows stay dense (about 30 per 4 KiB page) and every query that
// orders or filters bundles reads only them; the bytes are read only when a bundle is sent or
// delivered. Bundle ids come from AUTOINCREMENT, so an id is never reused: a caller holding the id
// of a bundle that expired meanwhile cannot touch a newer bundle by mistake
// (https://sqlite.org/autoinc.html). `delivered` remembers the keys of delivered bundles until
// their expiry, which is what refuses a second delivery (bundle-store.ts explains).
const SCHEMA_SQL = `
CREATE TABLE bundles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  destination TEXT NOT NULL,
  local INTEGER NOT NULL CHECK (local IN (0, 1)),
  priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),
  next_hop TEXT,
  received_at_ms REAL NOT NULL,
  expires_at_ms REAL NOT NULL,
  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0)
);
CREATE INDEX bundles_queue ON bundles (local, priority DESC, id);
CREATE INDEX bundles_destination ON bundles (destination, local, priority DESC, id);
CREATE INDEX bundles_next_hop ON bundles (next_hop, priority DESC, id) WHERE next_hop IS NOT NULL;
CREATE INDEX bundles_expiry ON bundles (expires_at_ms);
CREATE TABLE payloads (
  id INTEGER PRIMARY KEY,
  crc32 INTEGER NOT NULL,
  bytes BLOB NOT NULL
);
CREATE TABLE delivered (
  key TEXT PRIMARY KEY,
  expires_at_ms REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX delivered_expiry ON delivered (expires_at_ms);
`;

/** The tables a store of this schema version has; a file with other tables is not ours. */
const SCHEMA_TABLES = ['bundles', 'delivered', 'payloads', 'sqlite_sequence'];

/** SQLite's primary result codes we tell apart (https://sqlite.org/rescode.html). */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/** The SQLite result code of an error thrown by node:sqlite, reduced to its primary code. */
export function sqlitePrimaryCode(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' ? errcode & 0xff : undefined;
}

/** An OrbitfedError for a failure of SQLite on the store at `path` while `doing` something. */
export function storeError(error: unknown, path: string, doing: string): OrbitfedError {
  if (error instanceof OrbitfedError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const code = sqlitePrimaryCode(error);
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
    return new OrbitfedError('ORBITFED_STORE_CORRUPT', `bundle store is damaged or not a database (${doing}): ${detail}`, { file: path }, { cause: error });
  }
  if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
    return new OrbitfedError('ORBITFED_STORE_LOCKED', `bundle store is in use by another process or connection (${doing}): ${detail}`, { file: path }, { cause: error });
  }
  if (code === SQLITE_FULL) {
    return new OrbitfedError('ORBITFED_STORE_IO', `disk full (${doing}); nothing was stored: ${detail}`, { file: path }, { cause: error });
  }
  return new OrbitfedError('ORBITFED_STORE_IO', `bundle store failed (${doing}): ${detail}`, { file: path }, { cause: error });
}

function pragmaValue(db: DatabaseSync, pragma: string): unknown {
  const row = db.prepare(`PRAGMA ${pragma}`).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}

/**
 * Opens (creating if missing) the store's database at `path` with the durable settings above and
 * the current schema. Throws OrbitfedError naming the path: ORBITFED_STORE_CORRUPT (not a
 * database, damaged, truncated), ORBITFED_STORE_FOREIGN (an SQLite database that is not a bundle
 * store), ORBITFED_STORE_VERSION (written by a newer orbitfed), ORBITFED_STORE_LOCKED (open in
 * another process or connection), ORBITFED_STORE_IO (cannot be opened or written). A file that is
 * refused is not written to: every check before the first write only reads its header.
 */
export function openStoreDatabase(path: string, existedBefore: boolean): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { enableForeignKeyConstraints: false, timeout: 0, defensive: true });
  } catch (error) {
    throw storeError(error, path, 'opening the file');
  }
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // Reads only the header and the schema table: a file that is not ours fails here, untouched.
    const applicationId = Number(pragmaValue(db, 'application_id'));
    const version = Number(pragmaValue(db, 'user_version'));
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const empty = applicationId === 0 && version === 0 && tables.length === 0;
    if (!empty && applicationId !== ORBITFED_BUNDLE_STORE_ID) {
      throw new OrbitfedError('ORBITFED_STORE_FOREIGN', `an SQLite database but not an orbitfed bundle store (application_id ${applicationId}, tables: ${tables.join(', ') || 'none'})`, { file: path });
    }
    if (version > BUNDLE_STORE_SCHEMA_VERSION) {
      throw new OrbitfedError('ORBITFED_STORE_VERSION', `bundle store schema version ${version} was written by a newer orbitfed; this one reads up to version ${BUNDLE_STORE_SCHEMA_VERSION}`, { file: path });
    }
    if (!empty && (version < 1 || tables.join(',') !== SCHEMA_TABLES.join(','))) {
      throw new OrbitfedError('ORBITFED_STORE_CORRUPT', `bundle store schema does not match version ${version} (tables: ${tables.join(', ') || 'none'})`, { file: path });
    }
    const journalMode = pragmaValue(db, 'journal_mode = WAL');
    if (journalMode !== 'wal') {
      throw new OrbitfedError('ORBITFED_STORE_IO', `cannot switch the bundle store to WAL mode (journal_mode is ${String(journalMode)})`, { file: path });
    }
    db.exec(`PRAGMA synchronous = FULL; PRAGMA cell_size_check = ON; PRAGMA trusted_schema = OFF; PRAGMA journal_size_limit = ${WAL_SIZE_BYTES_KEPT}`);
    if (Number(pragmaValue(db, 'synchronous')) !== 2) {
      throw new OrbitfedError('ORBITFED_STORE_IO', 'cannot set synchronous = FULL on the bundle store', { file: path });
    }
    // The first write takes the exclusive lock: a store open elsewhere fails here with SQLITE_BUSY.
    db.exec('BEGIN IMMEDIATE');
    if (empty) {
      db.exec(SCHEMA_SQL);
      db.exec(`PRAGMA application_id = ${ORBITFED_BUNDLE_STORE_ID}; PRAGMA user_version = ${BUNDLE_STORE_SCHEMA_VERSION}`);
    }
    db.exec('COMMIT');
    if (!existedBefore) syncDirectoryOf(path);
    return db;
  } catch (error) {
    if (db.isOpen) {
      if (db.isTransaction) db.exec('ROLLBACK');
      db.close();
    }
    throw storeError(error, path, 'opening the bundle store');
  }
}

// Opening an orbitfed SQLite file (node:sqlite) with durable settings, recognising and refusing
// files that are not of the expected kind, creating its schema with a version, and turning SQLite's
// errors into orbitfed codes. The bundle store (dtn/) and the validator's chain store (consensus/)
// open their files here; what the tables mean is theirs.
//
// Settings, and why (https://sqlite.org/pragma.html, https://sqlite.org/wal.html):
// - `journal_mode=WAL`: a commit appends to the write-ahead log and syncs that one file, instead of
//   a rollback journal plus the database file plus (for a new journal) its directory.
// - `synchronous=FULL`: in WAL mode, FULL syncs the log at every commit, so a transaction that has
//   returned survives power loss and an OS crash. NORMAL syncs only at checkpoints: the database
//   stays consistent but "a transaction committed in WAL mode with synchronous=NORMAL might roll
//   back following a power loss or system crash" (wal.html, "Performance Considerations"). A commit
//   is the moment a bundle is acknowledged to a peer or a block is decided, so NORMAL is not enough.
//   (Node's SQLite is compiled with DEFAULT_WAL_SYNCHRONOUS=2, i.e. FULL already; we set it anyway
//   so the guarantee does not hang on a build flag.) On macOS F_FULLFSYNC would be needed as well
//   (`fullfsync`); the agents and validators run on Linux, where fsync/fdatasync reach the device.
// - `locking_mode=EXCLUSIVE`, set before the first access: one process owns the store. Its
//   in-memory state is only right if nobody else writes the file, and a second process started on
//   the same path by mistake gets ORBITFED_STORE_LOCKED instead of corrupting the first one's view. In WAL mode this also
//   keeps the WAL index in heap memory, so there is no `-shm` file (wal.html §8, "Use of WAL Without Shared-Memory"). The lock is an OS
//   file lock, released when the process dies, even by SIGKILL.
// - `cell_size_check=ON`: a cheap extra check of every b-tree page read, so a damaged page is
//   reported as SQLITE_CORRUPT instead of being misread.
// - `journal_size_limit`: a 10 MB bundle or a 4 MB block makes the WAL at least that big; after a
//   checkpoint the file is truncated back to this size instead of staying at its high-water mark.
// - `trusted_schema=OFF` and defensive mode: nothing in the file can run code or be used to corrupt
//   it through SQL (we never run SQL from outside, but a foreign file should stay inert).
//
// Recognising our file: `application_id` (offset 68 of the header) holds the kind's id
// and `user_version` (offset 60) the schema version, both written in the same transaction as the
// tables, so a crash while creating a store leaves either an empty file (created again on the next
// open) or a complete one (https://sqlite.org/fileformat2.html, "The Database Header").
import { DatabaseSync } from 'node:sqlite';
import { syncDirectoryOf } from './durable-file.ts';
import { OrbitfedError } from './errors.ts';

/** What kind of file a database is: how we recognise it and how a new one is created. */
export interface DatabaseKind {
  /** For messages: "bundle store", "chain store". */
  readonly name: string;
  /** `PRAGMA application_id`: four ASCII letters as a 32-bit integer. */
  readonly applicationId: number;
  /** `PRAGMA user_version`; bump with a migration where the kind is opened. */
  readonly schemaVersion: number;
  readonly schemaSql: string;
  /** The tables of this schema version, sorted; a file with other tables is not of this kind. */
  readonly tables: readonly string[];
}

/** The WAL file is truncated back to this size after a checkpoint. */
const WAL_SIZE_BYTES_KEPT = 16 * 1024 * 1024;

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

/** An OrbitfedError for a failure of SQLite on the `name` file at `path` while `doing` something. */
export function databaseError(error: unknown, name: string, path: string, doing: string): OrbitfedError {
  if (error instanceof OrbitfedError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const code = sqlitePrimaryCode(error);
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
    return new OrbitfedError('ORBITFED_STORE_CORRUPT', `${name} is damaged or not a database (${doing}): ${detail}`, { file: path }, { cause: error });
  }
  if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
    return new OrbitfedError('ORBITFED_STORE_LOCKED', `${name} is in use by another process or connection (${doing}): ${detail}`, { file: path }, { cause: error });
  }
  if (code === SQLITE_FULL) {
    return new OrbitfedError('ORBITFED_STORE_IO', `disk full (${doing}); nothing was stored: ${detail}`, { file: path }, { cause: error });
  }
  return new OrbitfedError('ORBITFED_STORE_IO', `${name} failed (${doing}): ${detail}`, { file: path }, { cause: error });
}

function pragmaValue(db: DatabaseSync, pragma: string): unknown {
  const row = db.prepare(`PRAGMA ${pragma}`).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}

/**
 * Opens (creating if missing) a database of `kind` at `path` with the durable settings above and
 * the current schema. Throws OrbitfedError naming the path: ORBITFED_STORE_CORRUPT (not a
 * database, damaged, truncated), ORBITFED_STORE_FOREIGN (an SQLite database of another kind),
 * ORBITFED_STORE_VERSION (written by a newer orbitfed), ORBITFED_STORE_LOCKED (open in another
 * process or connection), ORBITFED_STORE_IO (cannot be opened or written). A file that is refused is
 * not written to: every check before the first write only reads its header.
 */
export function openDurableDatabase(path: string, existedBefore: boolean, kind: DatabaseKind): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { enableForeignKeyConstraints: false, timeout: 0, defensive: true });
  } catch (error) {
    throw databaseError(error, kind.name, path, 'opening the file');
  }
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // Reads only the header and the schema table: a file that is not ours fails here, untouched.
    const applicationId = Number(pragmaValue(db, 'application_id'));
    const version = Number(pragmaValue(db, 'user_version'));
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const empty = applicationId === 0 && version === 0 && tables.length === 0;
    if (!empty && applicationId !== kind.applicationId) {
      throw new OrbitfedError('ORBITFED_STORE_FOREIGN', `an SQLite database but not an orbitfed ${kind.name} (application_id ${applicationId}, tables: ${tables.join(', ') || 'none'})`, { file: path });
    }
    if (version > kind.schemaVersion) {
      throw new OrbitfedError('ORBITFED_STORE_VERSION', `${kind.name} schema version ${version} was written by a newer orbitfed; this one reads up to version ${kind.schemaVersion}`, { file: path });
    }
    if (!empty && (version < 1 || tables.join(',') !== kind.tables.join(','))) {
      throw new OrbitfedError('ORBITFED_STORE_CORRUPT', `${kind.name} schema does not match version ${version} (tables: ${tables.join(', ') || 'none'})`, { file: path });
    }
    const journalMode = pragmaValue(db, 'journal_mode = WAL');
    if (journalMode !== 'wal') {
      throw new OrbitfedError('ORBITFED_STORE_IO', `cannot switch the ${kind.name} to WAL mode (journal_mode is ${String(journalMode)})`, { file: path });
    }
    db.exec(`PRAGMA synchronous = FULL; PRAGMA cell_size_check = ON; PRAGMA trusted_schema = OFF; PRAGMA journal_size_limit = ${WAL_SIZE_BYTES_KEPT}`);
    if (Number(pragmaValue(db, 'synchronous')) !== 2) {
      throw new OrbitfedError('ORBITFED_STORE_IO', `cannot set synchronous = FULL on the ${kind.name}`, { file: path });
    }
    // The first write takes the exclusive lock: a store open elsewhere fails here with SQLITE_BUSY.
    db.exec('BEGIN IMMEDIATE');
    if (empty) {
      db.exec(kind.schemaSql);
      db.exec(`PRAGMA application_id = ${kind.applicationId}; PRAGMA user_version = ${kind.schemaVersion}`);
    }
    db.exec('COMMIT');
    if (!existedBefore) syncDirectoryOf(path);
    return db;
  } catch (error) {
    if (db.isOpen) {
      if (db.isTransaction) db.exec('ROLLBACK');
      db.close();
    }
    throw databaseError(error, kind.name, path, `opening the ${kind.name}`);
  }
}

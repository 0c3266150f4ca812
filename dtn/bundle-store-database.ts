// The SQLite file under the bundle store (bundle-store.ts): its schema and version. Opening it with
// durable settings, refusing files that are not bundle stores and mapping SQLite's errors are
// common/durable-database.ts's (the settings and why are explained there). Nothing here knows what
// a bundle means; bundle-store.ts does.
import type { DatabaseSync } from 'node:sqlite';
import { databaseError, openDurableDatabase, type DatabaseKind, type OrbitfedError } from '../common/index.ts';

export { sqlitePrimaryCode } from '../common/index.ts';

/** Schema version of the store, kept in `PRAGMA user_version`; bump with a migration in `openStoreDatabase`. */
export const BUNDLE_STORE_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` of an orbitfed bundle store: "OFBS" in ASCII. */
export const ORBITFED_BUNDLE_STORE_ID = 0x4f464253;

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

const BUNDLE_STORE: DatabaseKind = {
  name: 'bundle store',
  applicationId: ORBITFED_BUNDLE_STORE_ID,
  schemaVersion: BUNDLE_STORE_SCHEMA_VERSION,
  schemaSql: SCHEMA_SQL,
  tables: ['bundles', 'delivered', 'payloads', 'sqlite_sequence'],
};

/** An OrbitfedError for a failure of SQLite on the store at `path` while `doing` something. */
export function storeError(error: unknown, path: string, doing: string): OrbitfedError {
  return databaseError(error, 'bundle store', path, doing);
}

/** Opens (creating if missing) the bundle store's database at `path`; see `openDurableDatabase`. */
export function openStoreDatabase(path: string, existedBefore: boolean): DatabaseSync {
  return openDurableDatabase(path, existedBefore, BUNDLE_STORE);
}

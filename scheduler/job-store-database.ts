// The SQLite file under the scheduler's job store (job-store.ts): its kind (application id
// "OFJS", schema version, tables) for common/durable-database.ts, which opens it with the durable
// settings every orbitfed store uses and explains them: WAL with `synchronous=FULL`, so a committed
// transaction — the moment the API answers 201 — survives kill -9, an OS crash and power loss; an
// exclusive lock, so a second scheduler started on the same file by mistake gets
// ORBITFED_STORE_LOCKED instead of two processes booking the same contacts; a file of another kind
// refused untouched (ORBITFED_STORE_FOREIGN). Nothing here knows what a job means; job-store.ts does.
import type { DatabaseKind } from '../common/index.ts';

// Jobs carry an AUTOINCREMENT sequence: it orders listings and pagination cursors, and is never
// reused, so a cursor stays meaningful after jobs are pruned. Specs, placements and results are JSON
// text: they are written once per transition and read whole; nothing queries inside them.
// Idempotency keys are per tenant (draft-ietf-httpapi-idempotency-key-header §2: the key is scoped
// to the client), with the SHA-256 of the request body to recognise a different request.
const SCHEMA_SQL = `
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  roles TEXT NOT NULL,
  operator TEXT,
  api_key_sha256 TEXT UNIQUE,
  public_key_hex TEXT,
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  spec_json TEXT NOT NULL,
  registered_by TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_heard_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL CHECK (attempt >= 0),
  spec_json TEXT NOT NULL,
  placement_json TEXT,
  escrow_id TEXT,
  result_json TEXT,
  reason TEXT,
  deadline_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX jobs_tenant ON jobs (tenant_id, seq);
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE TABLE job_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT,
  detail_json TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, seq);
CREATE TABLE idempotency_keys (
  tenant_id TEXT NOT NULL,
  key TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  status INTEGER NOT NULL,
  response_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency_keys (created_ms);
`;

/** What a job store file is, for `openDurableDatabase`. */
export const JOB_STORE_KIND: DatabaseKind = {
  name: 'job store',
  // "OFJS" in ASCII.
  applicationId: 0x4f464a53,
  schemaVersion: 1,
  schemaSql: SCHEMA_SQL,
  tables: ['idempotency_keys', 'job_events', 'jobs', 'nodes', 'sqlite_sequence', 'tenants'],
};

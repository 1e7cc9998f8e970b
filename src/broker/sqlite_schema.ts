/**
 * The SQLite task queue's schema: tables, indexes, the version check at
 * open, and the derived tables (queue heads, running counts) rebuilt from
 * the jobs table.
 *
 * @module
 */
import { ACTIVE_STATES, sqlStateList } from "../protocol/job_state.ts";
import type { SqliteConnection } from "./sqlite_connection.ts";
import type { Row } from "./store_rows.ts";

/** Schema version in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 2;

/** The active states as an SQL list, `(...)`. */
export const ACTIVE_SQL = sqlStateList(ACTIVE_STATES);

/** Every table and index (idempotent). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  jdl TEXT NOT NULL,
  class_id INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  cpu_cores INTEGER NOT NULL DEFAULT 1,
  ttl INTEGER NOT NULL,
  memory INTEGER NOT NULL DEFAULT 0,
  disk INTEGER NOT NULL DEFAULT 0,
  max_wait_ms INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  agent TEXT,
  agent_subject TEXT,
  token_serial TEXT,
  resubmissions INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  kill_reason INTEGER,
  heartbeat_at INTEGER,
  usage TEXT,
  message TEXT
);
CREATE INDEX IF NOT EXISTS jobs_queue
  ON jobs (class_id, owner, priority DESC, id) WHERE state = 'WAITING';
CREATE INDEX IF NOT EXISTS jobs_expiry
  ON jobs (expires_at) WHERE state = 'WAITING' AND expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_heartbeat
  ON jobs (heartbeat_at) WHERE state IN ${ACTIVE_SQL};
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, id);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS match_classes (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  cpu_cores INTEGER NOT NULL,
  ttl INTEGER NOT NULL,
  memory INTEGER NOT NULL,
  disk INTEGER NOT NULL,
  n_sites INTEGER NOT NULL,
  n_ces INTEGER NOT NULL,
  n_packages INTEGER NOT NULL,
  residual INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS class_sites (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS class_ces (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS class_packages (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_heads (
  class_id INTEGER NOT NULL,
  owner TEXT NOT NULL,
  waiting INTEGER NOT NULL,
  head_id INTEGER NOT NULL,
  head_priority INTEGER NOT NULL,
  PRIMARY KEY (class_id, owner)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS heads_owner
  ON queue_heads (owner, head_priority DESC, head_id);
CREATE TABLE IF NOT EXISTS owners (
  owner TEXT PRIMARY KEY,
  running INTEGER NOT NULL DEFAULT 0,
  served_at INTEGER NOT NULL DEFAULT 0,
  quota INTEGER) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS owners_share
  ON owners (running, served_at, owner);
CREATE TABLE IF NOT EXISTS trace (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_job ON trace (job_id, seq);
CREATE TABLE IF NOT EXISTS files (
  lfn TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  job_id INTEGER,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/** The schema of an existing database is not the one this code expects. */
export class SchemaError extends Error {
  /** @param message names the found and the expected schema version. */
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/**
 * Creates the schema in an empty database, or checks the version of an
 * existing one (and rebuilds its derived tables); throws
 * {@link SchemaError} for a database of another version.
 */
export function migrate(conn: SqliteConnection, path: string): void {
  const db = conn.db;
  const version = Number(
    (db.prepare("PRAGMA user_version").get() as Row).user_version,
  );
  if (version === SCHEMA_VERSION) {
    db.exec(SCHEMA);
    conn.tx(() => rebuildDerived(conn));
    return;
  }
  const tables = db.prepare(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'",
  ).get() as Row;
  if (version !== 0 || Number(tables.n) > 0) {
    throw new SchemaError(
      `${path}: task queue schema version ${version}, expected ${SCHEMA_VERSION} (written by another splitpilot version; use a new state dir)`,
    );
  }
  conn.tx(() => {
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
  });
}

/**
 * Recomputes queue heads and running counts from the jobs table. They are
 * kept in step by every transition; rebuilding them at open (and if a
 * claim ever finds one out of step) means they cannot drift for long.
 */
export function rebuildDerived(conn: SqliteConnection): void {
  conn.db.exec(`
    DELETE FROM queue_heads;
    INSERT INTO queue_heads (class_id, owner, waiting, head_id, head_priority)
      SELECT class_id, owner, n, id, priority FROM (
        SELECT class_id, owner, id, priority,
          count(*) OVER (PARTITION BY class_id, owner) AS n,
          row_number() OVER (PARTITION BY class_id, owner
            ORDER BY priority DESC, id) AS rank
        FROM jobs WHERE state = 'WAITING')
      WHERE rank = 1;
    INSERT OR IGNORE INTO owners (owner) SELECT DISTINCT owner FROM jobs;
    UPDATE owners SET running = (SELECT count(*) FROM jobs
      WHERE jobs.owner = owners.owner AND state IN ${ACTIVE_SQL});
  `);
}

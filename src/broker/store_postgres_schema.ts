/**
 * Schema migrations of the PostgreSQL task queue.
 *
 * Each migration runs once, in order, in its own transaction, recorded in
 * `splitpilot_migrations`. Replicas starting together serialize on a
 * transaction-level advisory lock, so exactly one of them applies a given
 * migration and the others see it done. A database that already has a
 * migration this code does not know (written by a newer splitpilot) is
 * refused with a clear error rather than used half-understood.
 *
 * @module
 */
import { ACTIVE_STATES, sqlStateList } from "../protocol/job_state.ts";
import type { Sql } from "./store_postgres_sql.ts";

const ACTIVE_SQL = sqlStateList(ACTIVE_STATES);

/** Advisory lock key (int8) serializing migrations across replicas. */
export const MIGRATION_LOCK = 0x73706c69_74000001n;
/** Advisory lock key serializing inserts of new match classes. */
export const CLASS_LOCK = 0x73706c69_74000002n;
/** Advisory lock key held (per session) by the one active sweeper. */
export const SWEEPER_LOCK = 0x73706c69_74000003n;

/** The migrations, in order; never edit a shipped one, append a new one. */
export const MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    name: "001_queue",
    sql: `
CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  jdl TEXT NOT NULL,
  class_id BIGINT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  cpu_cores INTEGER NOT NULL DEFAULT 1,
  ttl BIGINT NOT NULL,
  memory BIGINT NOT NULL DEFAULT 0,
  disk BIGINT NOT NULL DEFAULT 0,
  max_wait_ms BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  expires_at BIGINT,
  agent TEXT,
  agent_subject TEXT,
  token_serial TEXT,
  resubmissions INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  kill_reason INTEGER,
  heartbeat_at BIGINT,
  usage TEXT,
  message TEXT
);
-- The queue: per class and user, best first (the few-classes claim).
CREATE INDEX jobs_queue
  ON jobs (class_id, owner, priority DESC, id) WHERE state = 'WAITING';
-- Per user, best first (the claim that walks users, class test per row).
CREATE INDEX jobs_user_queue
  ON jobs (owner, priority DESC, id) WHERE state = 'WAITING';
CREATE INDEX jobs_expiry
  ON jobs (expires_at) WHERE state = 'WAITING' AND expires_at IS NOT NULL;
CREATE INDEX jobs_heartbeat ON jobs (heartbeat_at) WHERE state IN ${ACTIVE_SQL};
CREATE INDEX jobs_owner ON jobs (owner, id);
CREATE INDEX jobs_state ON jobs (state, id);
-- Job token serials are unique across every replica that issued them.
CREATE UNIQUE INDEX jobs_token_serial ON jobs (token_serial)
  WHERE token_serial IS NOT NULL;
CREATE TABLE match_classes (
  id BIGSERIAL PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  cpu_cores INTEGER NOT NULL,
  ttl BIGINT NOT NULL,
  memory BIGINT NOT NULL,
  disk BIGINT NOT NULL,
  sites TEXT[] NOT NULL,
  ces TEXT[] NOT NULL,
  packages TEXT[] NOT NULL,
  residual BOOLEAN NOT NULL
);
-- Waiting jobs per class and user: which users a slot's classes can
-- serve, without walking the jobs (kept by every move in and out of
-- WAITING, in the same transaction).
CREATE TABLE queue_counts (
  owner TEXT NOT NULL,
  class_id BIGINT NOT NULL,
  waiting INTEGER NOT NULL,
  PRIMARY KEY (owner, class_id)
);
CREATE INDEX queue_counts_class ON queue_counts (class_id) WHERE waiting > 0;
CREATE TABLE owners (
  owner TEXT PRIMARY KEY,
  running INTEGER NOT NULL DEFAULT 0,
  served_at BIGINT NOT NULL DEFAULT 0,
  quota INTEGER
);
CREATE INDEX owners_share ON owners (running, served_at, owner);
-- Round robin: every hand-out takes the next number (no max() scan).
CREATE SEQUENCE owners_served;
CREATE TABLE trace (
  seq BIGSERIAL PRIMARY KEY,
  job_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX trace_job ON trace (job_id, seq);
CREATE TABLE files (
  lfn TEXT PRIMARY KEY COLLATE "C",
  owner TEXT NOT NULL,
  job_id BIGINT,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE request_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  job_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX request_keys_at ON request_keys (at);
`,
  },
];

/** The database was written by a newer splitpilot. */
export class PostgresSchemaError extends Error {
  /** @param message names the unknown migration. */
  constructor(message: string) {
    super(message);
    this.name = "PostgresSchemaError";
  }
}

/** Applies the migrations not applied yet; safe to run from N replicas. */
export async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::int8)`;
    await tx`CREATE TABLE IF NOT EXISTS splitpilot_migrations (
      name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`;
    const done = new Set(
      (await tx`SELECT name FROM splitpilot_migrations`).map((r) =>
        r.name as string
      ),
    );
    const known = new Set(MIGRATIONS.map((m) => m.name));
    const unknown = [...done].filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new PostgresSchemaError(
        `task queue database has migration(s) ${
          unknown.join(", ")
        } this splitpilot does not know (written by a newer version)`,
      );
    }
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO splitpilot_migrations (name, applied_at)
        VALUES (${m.name}, ${Date.now()})`;
    }
  });
}

/**
 * Request keys that make submit and match safe to retry.
 *
 * A client that loses the answer to a committed request cannot tell it
 * from one that never arrived, so it sends the same request again with
 * the same `Idempotency-Key`. The store records the key with the job in
 * the transaction that creates (submit) or claims (match) it; a repeat
 * inside {@link KEY_TTL_MS} gets that job back instead of a second one.
 * Keys are scoped: a submit key to the user, a match key to the agent
 * certificate, so nobody can replay someone else's request.
 *
 * The SQL runs on the store's own connection, inside its transaction.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** How long a key is remembered: 24 h. */
export const KEY_TTL_MS = 24 * 3600 * 1000;

/** The HTTP header carrying the key. */
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** Longest key accepted, characters. */
export const MAX_KEY_LENGTH = 128;

/** Extra table of the task queue (additive: no schema version change). */
export const REQUEST_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS request_keys (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS request_keys_at ON request_keys (at);
`;

/** Scope of a user's submit keys. */
export function submitScope(owner: string): string {
  return `submit:${owner}`;
}

/** Scope of an agent certificate's match keys. */
export function matchScope(fingerprint: string): string {
  return `match:${fingerprint}`;
}

/** Whether `key` is acceptable as an idempotency key. */
export function validKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_KEY_LENGTH &&
    /^[\x21-\x7e]+$/.test(key);
}

const statements = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

function q(db: DatabaseSync, sql: string): StatementSync {
  let m = statements.get(db);
  if (!m) statements.set(db, m = new Map());
  let s = m.get(sql);
  if (!s) m.set(sql, s = db.prepare(sql));
  return s;
}

/** The job a key names, if it is remembered (call inside a transaction). */
export function findKey(
  db: DatabaseSync,
  scope: string,
  key: string,
  now: number,
): number | undefined {
  const r = q(
    db,
    "SELECT job_id FROM request_keys WHERE scope = ? AND key = ? AND at > ?",
  ).get(scope, key, now - KEY_TTL_MS) as { job_id: number } | undefined;
  return r === undefined ? undefined : Number(r.job_id);
}

let inserts = 0;

/** Remembers `key` → `jobId` (call inside the job's transaction). */
export function recordKey(
  db: DatabaseSync,
  scope: string,
  key: string,
  jobId: number,
  now: number,
): void {
  q(
    db,
    `INSERT INTO request_keys (scope, key, job_id, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET job_id = excluded.job_id,
       at = excluded.at`,
  ).run(scope, key, jobId, now);
  // Forget old keys now and then, in the same transaction.
  if (++inserts % 1000 === 1) {
    q(db, "DELETE FROM request_keys WHERE at <= ?").run(now - KEY_TTL_MS);
  }
}

/**
 * State changes in the SQLite task queue: the one compare-and-set that
 * moves a job ({@link moveJob}), with the bookkeeping it keeps in the same
 * transaction: queue heads (one per class and user: the user's best
 * waiting job of that class), per-user running counts, and the trace.
 *
 * @module
 */
import { ACTIVE_STATES, type JobState } from "../protocol/job_state.ts";
import type { TransitionExtra } from "./store.ts";
import type { SqliteConnection } from "./sqlite_connection.ts";
import type { Row } from "./store_rows.ts";

/** The `jobs` row of `id`, if any. */
export function jobRow(conn: SqliteConnection, id: number): Row | undefined {
  return conn.q("SELECT * FROM jobs WHERE id = ?").get(id) as Row | undefined;
}

/** Appends one trace entry. */
export function addTrace(
  conn: SqliteConnection,
  id: number | string,
  at: number,
  state: JobState,
  actor: string,
  reason: string,
): void {
  conn.q(
    "INSERT INTO trace (job_id, at, state, actor, reason) VALUES (?, ?, ?, ?, ?)",
  ).run(Number(id), at, state, actor, reason);
}

/** Adds a waiting job to its (class, owner) head. */
export function enqueue(
  conn: SqliteConnection,
  classId: number,
  owner: string,
  id: number,
  priority: number,
): void {
  conn.q(
    `INSERT INTO queue_heads (class_id, owner, waiting, head_id, head_priority)
     VALUES (?, ?, 1, ?, ?)
     ON CONFLICT (class_id, owner) DO UPDATE SET
       waiting = waiting + 1,
       head_id = CASE WHEN excluded.head_priority > head_priority
           OR (excluded.head_priority = head_priority
               AND excluded.head_id < head_id)
         THEN excluded.head_id ELSE head_id END,
       head_priority = max(head_priority, excluded.head_priority)`,
  ).run(classId, owner, id, priority);
}

/** Removes a job that left WAITING (its row already says so). */
function dequeue(
  conn: SqliteConnection,
  classId: number,
  owner: string,
  id: number,
): void {
  const h = conn.q(
    `UPDATE queue_heads SET waiting = waiting - 1
     WHERE class_id = ? AND owner = ? RETURNING waiting, head_id`,
  ).get(classId, owner) as Row | undefined;
  if (!h) return;
  if (Number(h.waiting) <= 0) {
    conn.q("DELETE FROM queue_heads WHERE class_id = ? AND owner = ?").run(
      classId,
      owner,
    );
    return;
  }
  if (Number(h.head_id) !== id) return;
  const next = conn.q(
    `SELECT id, priority FROM jobs WHERE state = 'WAITING'
       AND class_id = ? AND owner = ?
     ORDER BY priority DESC, id LIMIT 1`,
  ).get(classId, owner) as Row | undefined;
  if (!next) {
    conn.q("DELETE FROM queue_heads WHERE class_id = ? AND owner = ?").run(
      classId,
      owner,
    );
    return;
  }
  conn.q(
    `UPDATE queue_heads SET head_id = ?, head_priority = ?
     WHERE class_id = ? AND owner = ?`,
  ).run(Number(next.id), Number(next.priority), classId, owner);
}

/**
 * Adjusts a user's running count; `servedAt` when a job was handed out.
 * Serving times only grow, by at least 1 per claim, so round robin holds
 * for claims within one clock tick too.
 */
function running(
  conn: SqliteConnection,
  owner: string,
  delta: number,
  servedAt?: number,
): void {
  if (delta === 0) return;
  const served = servedAt === undefined ? 0 : Math.max(
    servedAt,
    Number(
      (conn.q("SELECT coalesce(max(served_at), 0) AS m FROM owners")
        .get() as Row).m,
    ) + 1,
  );
  conn.q(
    `INSERT INTO owners (owner, running, served_at) VALUES (?, ?, ?)
     ON CONFLICT (owner) DO UPDATE SET
       running = max(0, running + excluded.running),
       served_at = CASE WHEN ? THEN excluded.served_at ELSE served_at END`,
  ).run(owner, delta, served, servedAt === undefined ? 0 : 1);
}

/** What a move may also set: the transition's extras, or the matching agent. */
export type MoveExtra = TransitionExtra & {
  agent?: { fingerprint: string; subject: string };
};

/**
 * The one place a job changes state: CAS on `from`, bookkeeping of the
 * queue heads and running counts, trace entry. Runs inside the caller's
 * transaction; false when the row was no longer in its state.
 */
export function moveJob(
  conn: SqliteConnection,
  row: Row,
  to: JobState,
  entry: { actor: string; reason: string },
  now: number,
  extra: MoveExtra = {},
): boolean {
  const from = row.state as JobState;
  const id = Number(row.id);
  const requeue = to === "WAITING";
  const maxWait = row.max_wait_ms === null ? null : Number(row.max_wait_ms);
  const active = ACTIVE_STATES.has(to);
  const r = conn.q(
    `UPDATE jobs SET state = :to, updated_at = :now, message = :reason,
       exit_code = CASE WHEN :requeue THEN NULL ELSE coalesce(:exit, exit_code) END,
       kill_reason = CASE WHEN :requeue THEN NULL ELSE coalesce(:kill, kill_reason) END,
       usage = CASE WHEN :requeue THEN NULL ELSE coalesce(:usage, usage) END,
       resubmissions = resubmissions + :requeue,
       expires_at = CASE WHEN :requeue THEN :expires ELSE NULL END,
       heartbeat_at = CASE WHEN :active THEN :now
         WHEN :requeue THEN NULL ELSE heartbeat_at END,
       agent = CASE WHEN :assign THEN :fp WHEN :requeue THEN NULL ELSE agent END,
       agent_subject = CASE WHEN :assign THEN :subject
         WHEN :requeue THEN NULL ELSE agent_subject END,
       token_serial = CASE WHEN :requeue OR :assign THEN NULL ELSE token_serial END
     WHERE id = :id AND state = :from`,
  ).run({
    to,
    now,
    reason: entry.reason,
    requeue: requeue ? 1 : 0,
    exit: extra.exitCode ?? null,
    kill: extra.killReason ?? null,
    usage: extra.usage ? JSON.stringify(extra.usage) : null,
    expires: requeue && maxWait !== null ? now + maxWait : null,
    active: active ? 1 : 0,
    assign: extra.agent ? 1 : 0,
    fp: extra.agent?.fingerprint ?? null,
    subject: extra.agent?.subject ?? null,
    id,
    from,
  });
  if (Number(r.changes) !== 1) return false;
  const owner = row.owner as string;
  const classId = Number(row.class_id);
  if (from === "WAITING") dequeue(conn, classId, owner, id);
  if (requeue) enqueue(conn, classId, owner, id, Number(row.priority));
  running(
    conn,
    owner,
    (active ? 1 : 0) - (ACTIVE_STATES.has(from) ? 1 : 0),
    extra.agent ? now : undefined,
  );
  addTrace(conn, id, now, to, entry.actor, entry.reason);
  return true;
}

/**
 * Compare-and-set of the job's state with its side effects, and the
 * automatic resubmission when `extra.requeueLimit` allows one; runs inside
 * the caller's transaction. Returns the state the job ends in, or
 * undefined when it was not in `from`.
 */
export function transitionJob(
  conn: SqliteConnection,
  id: string,
  from: JobState,
  to: JobState,
  entry: { actor: string; reason: string },
  extra: TransitionExtra,
): JobState | undefined {
  const now = Date.now();
  const row = jobRow(conn, Number(id));
  if (!row || row.state !== from) return undefined;
  if (!moveJob(conn, row, to, entry, now, extra)) return undefined;
  const limit = extra.requeueLimit;
  if (limit === undefined || to === "WAITING") return to;
  const attempts = Number(row.resubmissions);
  if (attempts >= limit) return to;
  const again = jobRow(conn, Number(id))!;
  moveJob(conn, again, "WAITING", {
    actor: "broker",
    reason: `automatic resubmission ${attempts + 1}/${limit} after ${to}`,
  }, now);
  return "WAITING";
}

/**
 * Row mapping and the one state-change statement of the PostgreSQL task
 * queue, shared by its claim and transition paths.
 *
 * @module
 */
import { ACTIVE_STATES, type JobState } from "../protocol/job_state.ts";
import type { TraceEntry, TransitionExtra } from "./store.ts";
import type { Row } from "./store_rows.ts";
import type { Tx } from "./store_postgres_sql.ts";

/** A `trace` row as a {@link TraceEntry}. */
export function toTrace(r: Row): TraceEntry {
  return {
    at: Number(r.at),
    state: r.state as JobState,
    actor: r.actor as string,
    reason: r.reason as string,
  };
}

/** Appends a trace entry. */
export async function addTrace(
  tx: Tx,
  id: number | string,
  at: number,
  state: string,
  actor: string,
  reason: string,
): Promise<void> {
  await tx`INSERT INTO trace (job_id, at, state, actor, reason)
    VALUES (${Number(id)}, ${at}, ${state}, ${actor}, ${reason})`;
}

/** Adds `delta` to the waiting count of (`owner`, `classId`). */
export async function countWaiting(
  tx: Tx,
  owner: string,
  classId: number,
  delta: number,
): Promise<void> {
  await tx`INSERT INTO queue_counts (owner, class_id, waiting)
    VALUES (${owner}, ${classId}, ${Math.max(0, delta)})
    ON CONFLICT (owner, class_id) DO UPDATE
      SET waiting = greatest(0, queue_counts.waiting + ${delta})`;
}

/**
 * Moves a job whose row the caller has locked (`FOR UPDATE`) from the
 * state in `row` to `to`: compare-and-set, running counts, trace entry.
 * Returns the new row, or undefined if the state had changed.
 */
export async function moveJob(
  tx: Tx,
  row: Row,
  to: JobState,
  entry: { actor: string; reason: string },
  now: number,
  extra: TransitionExtra & {
    agent?: { fingerprint: string; subject: string };
  } = {},
): Promise<Row | undefined> {
  const from = row.state as JobState;
  const id = Number(row.id);
  const requeue = to === "WAITING";
  const assign = extra.agent !== undefined;
  const active = ACTIVE_STATES.has(to);
  const maxWait = row.max_wait_ms === null ? null : Number(row.max_wait_ms);
  const usage = extra.usage ? JSON.stringify(extra.usage) : null;
  const [moved] = await tx`
    UPDATE jobs SET state = ${to}, updated_at = ${now},
      message = ${entry.reason},
      exit_code = CASE WHEN ${requeue} THEN NULL
        ELSE coalesce(${extra.exitCode ?? null}::int, exit_code) END,
      kill_reason = CASE WHEN ${requeue} THEN NULL
        ELSE coalesce(${extra.killReason ?? null}::int, kill_reason) END,
      usage = CASE WHEN ${requeue} THEN NULL
        ELSE coalesce(${usage}::text, usage) END,
      resubmissions = resubmissions + ${requeue ? 1 : 0},
      expires_at = ${requeue && maxWait !== null ? now + maxWait : null}::int8,
      heartbeat_at = CASE WHEN ${active} THEN ${now}::int8
        WHEN ${requeue} THEN NULL ELSE heartbeat_at END,
      agent = CASE WHEN ${assign} THEN ${extra.agent?.fingerprint ?? null}::text
        WHEN ${requeue} THEN NULL ELSE agent END,
      agent_subject = CASE WHEN ${assign}
        THEN ${extra.agent?.subject ?? null}::text
        WHEN ${requeue} THEN NULL ELSE agent_subject END,
      token_serial = CASE WHEN ${requeue || assign} THEN NULL
        ELSE token_serial END
    WHERE id = ${id} AND state = ${from}
    RETURNING *`;
  if (!moved) return undefined;
  if (from === "WAITING" || requeue) {
    await countWaiting(
      tx,
      row.owner as string,
      Number(row.class_id),
      requeue ? 1 : -1,
    );
  }
  const delta = (active ? 1 : 0) - (ACTIVE_STATES.has(from) ? 1 : 0);
  if (delta !== 0 || assign) {
    await tx`
      INSERT INTO owners (owner, running, served_at)
      VALUES (${row.owner as string}, ${Math.max(0, delta)},
        CASE WHEN ${assign} THEN nextval('owners_served') ELSE 0 END)
      ON CONFLICT (owner) DO UPDATE SET
        running = greatest(0, owners.running + ${delta}),
        served_at = CASE WHEN ${assign} THEN excluded.served_at
          ELSE owners.served_at END`;
  }
  await addTrace(tx, id, now, to, entry.actor, entry.reason);
  return moved;
}

/**
 * Claims on the PostgreSQL task queue: race-free across any number of
 * broker replicas sharing the database.
 *
 * A claim is one transaction. It walks users in fair-share order (fewest
 * running jobs, then least recently served, then name: the `owners_share`
 * index) and, per user, takes the best waiting job of the classes the slot
 * admits (priority, then age: the `jobs_queue` index), reading without
 * locks. It then locks that one candidate with `FOR UPDATE SKIP LOCKED`:
 * a job another replica is claiming right now is locked, so it is skipped
 * (and left out of the next round), never waited for and never handed out
 * twice; the state is then moved with a compare-and-set on `WAITING` under
 * that row lock. Replicas claiming at the same moment may both serve the same
 * user (the running counts they read are the committed ones), so fair
 * share is exact between claims and approximate within one instant.
 *
 * The classes a slot admits come from an in-memory copy of the match
 * class table ({@link ./_class_index.ts}), as in the SQLite store. When
 * they are few the per-user head is found by one index probe per class;
 * when many, by walking the user's queue in order with the class test per
 * row (big slots admit nearly everything, so it stops early).
 *
 * @module
 */
import type { ClassIndex } from "./_class_index.ts";
import type { JobRecord } from "./store.ts";
import { moveJob } from "./store_postgres_rows.ts";
import { type Row, toJob } from "./store_rows.ts";
import type { Tx } from "./store_postgres_sql.ts";

/** What one claim needs besides the transaction. */
export interface ClaimQuery {
  /** IDs of the admitted classes. */
  admitted: number[];
  /** Use one probe per class (few) or walk the user's queue (many). */
  few: boolean;
  /** Default running-job quota (whole number). */
  quota: number;
  /** The agent. */
  agent: { fingerprint: string; subject: string };
  /** Verdict for candidates of residual classes. */
  accept: (job: JobRecord) => boolean;
  /** The class index (for the residual flag). */
  index: ClassIndex;
  /** Now, ms. */
  now: number;
}

// Candidates are read without locks (a row lock is a write); only the
// chosen one is locked, below. `skip` holds candidates found locked by a
// concurrent claim in this claim's earlier rounds.
async function pickFew(tx: Tx, ids: number[], skip: number[], quota: number) {
  if (skip.length === 0) {
    // The first user in fair-share order with a waiting job in an admitted
    // class (from the counts), then that user's best job among them.
    return await tx`
      WITH o AS (
        SELECT o.owner FROM owners o
        WHERE o.running < coalesce(o.quota, ${quota})
          AND EXISTS (SELECT 1 FROM queue_counts w WHERE w.owner = o.owner
            AND w.class_id = ANY(${ids}::int8[]) AND w.waiting > 0)
        ORDER BY o.running, o.served_at, o.owner
        LIMIT 1)
      SELECT h.id FROM o
      CROSS JOIN LATERAL (
        SELECT w.class_id FROM queue_counts w
        WHERE w.owner = o.owner AND w.class_id = ANY(${ids}::int8[])
          AND w.waiting > 0) c
      CROSS JOIN LATERAL (
        SELECT j.id, j.priority FROM jobs j
        WHERE j.class_id = c.class_id AND j.owner = o.owner
          AND j.state = 'WAITING'
        ORDER BY j.priority DESC, j.id
        LIMIT 1) h
      ORDER BY h.priority DESC, h.id
      LIMIT 1`;
  }
  // After a collision: skipped jobs may hide a user's last candidates.
  return await tx`
    SELECT j.id FROM owners o
    CROSS JOIN LATERAL (
      SELECT h.* FROM unnest(${ids}::int8[]) AS a(cid)
      CROSS JOIN LATERAL (
        SELECT j.id, j.priority FROM jobs j
        WHERE j.class_id = a.cid AND j.owner = o.owner AND j.state = 'WAITING'
          AND j.id <> ALL(${skip}::int8[])
        ORDER BY j.priority DESC, j.id
        LIMIT 1) h
      ORDER BY h.priority DESC, h.id
      LIMIT 1) j
    WHERE o.running < coalesce(o.quota, ${quota})
    ORDER BY o.running, o.served_at, o.owner
    LIMIT 1`;
}

async function pickMany(
  tx: Tx,
  ids: number[],
  skip: number[],
  quota: number,
) {
  return await tx`
    SELECT j.id FROM owners o
    CROSS JOIN LATERAL (
      SELECT j.id FROM jobs j
      WHERE j.owner = o.owner AND j.state = 'WAITING'
        AND j.class_id = ANY(${ids}::int8[])
        AND j.id <> ALL(${skip}::int8[])
      ORDER BY j.priority DESC, j.id
      LIMIT 1) j
    WHERE o.running < coalesce(o.quota, ${quota})
    ORDER BY o.running, o.served_at, o.owner
    LIMIT 1`;
}

/**
 * Claims inside `tx`; returns the ASSIGNED row, or undefined. Candidates
 * past their waiting time are EXPIRED on the way; a refused residual
 * class is left out of the next round.
 */
export async function claimIn(
  tx: Tx,
  q: ClaimQuery,
): Promise<Row | undefined> {
  let ids = q.admitted;
  const skip: number[] = [];
  for (let round = 0; round < 100_000; round++) {
    if (ids.length === 0) return undefined;
    const [pick] = q.few
      ? await pickFew(tx, ids, skip, q.quota)
      : await pickMany(tx, ids, skip, q.quota);
    if (!pick) return undefined;
    // Another replica (or request) is claiming it right now, or just did:
    // skip it, never wait for it.
    const [row] = await tx`SELECT * FROM jobs
      WHERE id = ${pick.id} AND state = 'WAITING' FOR UPDATE SKIP LOCKED`;
    if (!row) {
      skip.push(Number(pick.id));
      continue;
    }
    if (row.expires_at !== null && Number(row.expires_at) <= q.now) {
      await moveJob(tx, row, "EXPIRED", {
        actor: "broker",
        reason: "waited longer than its maximum waiting time",
      }, q.now);
      continue;
    }
    const classId = Number(row.class_id);
    if (q.index.get(classId)?.residual && !q.accept(toJob(row))) {
      ids = ids.filter((c) => c !== classId);
      continue;
    }
    return await moveJob(
      tx,
      row,
      "ASSIGNED",
      {
        actor: `JOB_AGENT:${q.agent.subject}`,
        reason: `matched by ${q.agent.subject}`,
      },
      q.now,
      { agent: q.agent },
    );
  }
  throw new Error("claim did not converge");
}

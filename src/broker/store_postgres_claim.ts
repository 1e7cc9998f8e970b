/**
 * Claims on the PostgreSQL task queue: race-free across any number of
 * broker replicas sharing the database.
 *
 * A claim is one transaction. It walks users in fair-share order (fewest
 * running jobs, then least recently served, then name: the `owners_share`
 * index) and, per user, takes the best waiting job of the classes the slot
 * admits (priority, then age: the `jobs_queue` index) with
 * `FOR UPDATE SKIP LOCKED`. A job another replica is claiming right now is
 * locked, so it is skipped, never waited for and never handed out twice;
 * the state is then moved with a compare-and-set on `WAITING` under that
 * row lock. Replicas claiming at the same moment may both serve the same
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
import { moveJob, type Row, toJob } from "./store_postgres_rows.ts";
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

async function pickFew(tx: Tx, ids: number[], quota: number) {
  return await tx`
    SELECT j.* FROM owners o
    CROSS JOIN LATERAL (
      SELECT h.* FROM unnest(${ids}::int8[]) AS a(cid)
      CROSS JOIN LATERAL (
        SELECT * FROM jobs j
        WHERE j.class_id = a.cid AND j.owner = o.owner AND j.state = 'WAITING'
        ORDER BY j.priority DESC, j.id
        LIMIT 1 FOR UPDATE SKIP LOCKED) h
      ORDER BY h.priority DESC, h.id
      LIMIT 1) j
    WHERE o.running < coalesce(o.quota, ${quota})
    ORDER BY o.running, o.served_at, o.owner
    LIMIT 1`;
}

async function pickMany(tx: Tx, ids: number[], quota: number) {
  return await tx`
    SELECT j.* FROM owners o
    CROSS JOIN LATERAL (
      SELECT * FROM jobs j
      WHERE j.owner = o.owner AND j.state = 'WAITING'
        AND j.class_id = ANY(${ids}::int8[])
      ORDER BY j.priority DESC, j.id
      LIMIT 1 FOR UPDATE SKIP LOCKED) j
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
  for (let round = 0; round < 100_000; round++) {
    if (ids.length === 0) return undefined;
    const [row] = q.few
      ? await pickFew(tx, ids, q.quota)
      : await pickMany(tx, ids, q.quota);
    if (!row) return undefined;
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

/**
 * Bulk submission into the PostgreSQL task queue: a batch of jobs in a
 * handful of statements (one INSERT over arrays per table) instead of a
 * few round trips per job. Used by `submitMany` when no job of the batch
 * carries an idempotency key.
 *
 * @module
 */
import type { NewJob } from "./store.ts";
import type { Tx } from "./store_postgres_sql.ts";

/**
 * Inserts `jobs` (their class IDs in `classIds`, same order) as WAITING
 * with their first trace entries; returns their IDs in order.
 */
export async function insertBatch(
  tx: Tx,
  jobs: NewJob[],
  classIds: number[],
  actor: string,
  now: number,
): Promise<number[]> {
  if (jobs.length === 0) return [];
  const maxWait = jobs.map((j) =>
    j.maxWaitingSeconds === undefined
      ? null
      : Math.round(j.maxWaitingSeconds * 1000)
  );
  // Rows go in in ordinal order, and a statement's nextval() calls are
  // increasing: the returned IDs, sorted, are the jobs' IDs in order.
  const rows = await tx`
    INSERT INTO jobs (owner, state, jdl, class_id, priority, cpu_cores, ttl,
      memory, disk, max_wait_ms, created_at, updated_at, expires_at, message)
    SELECT owner, 'WAITING', jdl, class_id, priority, cpu_cores, ttl, memory,
      disk, max_wait, ${now}::int8, ${now}::int8,
      ${now}::int8 + max_wait, 'submitted'
    FROM unnest(${jobs.map((j) => j.owner)}::text[],
      ${jobs.map((j) => j.jdl)}::text[], ${classIds}::int8[],
      ${jobs.map((j) => j.priority)}::int4[],
      ${jobs.map((j) => j.keys.cpuCores)}::int4[],
      ${jobs.map((j) => j.keys.ttl)}::int8[],
      ${jobs.map((j) => j.keys.memory)}::int8[],
      ${jobs.map((j) => j.keys.disk)}::int8[],
      ${maxWait}::int8[])
      WITH ORDINALITY AS t(owner, jdl, class_id, priority, cpu_cores, ttl,
        memory, disk, max_wait, ord)
    ORDER BY ord
    RETURNING id`;
  const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  const owners = [...new Set(jobs.map((j) => j.owner))];
  await tx`INSERT INTO owners (owner) SELECT unnest(${owners}::text[])
    ON CONFLICT (owner) DO NOTHING`;
  const counts = new Map<string, { owner: string; cls: number; n: number }>();
  jobs.forEach((j, i) => {
    const k = `${classIds[i]}\u0000${j.owner}`;
    const c = counts.get(k) ?? { owner: j.owner, cls: classIds[i], n: 0 };
    c.n++;
    counts.set(k, c);
  });
  const cs = [...counts.values()];
  await tx`
    INSERT INTO queue_counts (owner, class_id, waiting)
    SELECT * FROM unnest(${cs.map((c) => c.owner)}::text[],
      ${cs.map((c) => c.cls)}::int8[], ${cs.map((c) => c.n)}::int4[])
    ON CONFLICT (owner, class_id) DO UPDATE
      SET waiting = queue_counts.waiting + excluded.waiting`;
  await tx`
    INSERT INTO trace (job_id, at, state, actor, reason)
    SELECT id, ${now}::int8, 'WAITING', ${actor}::text, 'submitted'
    FROM unnest(${ids}::int8[]) AS t(id)`;
  return ids;
}

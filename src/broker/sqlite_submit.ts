/**
 * Submission into the SQLite task queue: a job's match class (found or
 * created, with its side tables of sites, CEs and packages), its row, its
 * queue head and its first trace entry, once per idempotency key.
 *
 * @module
 */
import type { NewJob } from "./store.ts";
import type { SqliteConnection } from "./sqlite_connection.ts";
import type { Row } from "./store_rows.ts";
import { addTrace, enqueue } from "./sqlite_transitions.ts";
import { findKey, recordKey, submitScope } from "./idempotency.ts";

/** Inserts jobs; caches class IDs (classes are never changed or deleted). */
export class JobInserter {
  #conn: SqliteConnection;
  /** Class key → ID. */
  #classes = new Map<string, number>();

  /** Inserts through `conn`. */
  constructor(conn: SqliteConnection) {
    this.#conn = conn;
  }

  /**
   * Forgets cached class IDs: a class inserted by a rolled-back
   * transaction may see its ID reused by another key.
   */
  forget(): void {
    this.#classes.clear();
  }

  /**
   * Inserts one WAITING job inside the caller's transaction, or returns
   * the ID an earlier submission with the same idempotency key got.
   */
  insert(job: NewJob, actor: string, now: number): number {
    const key = job.idempotencyKey;
    const scope = submitScope(job.owner);
    const db = this.#conn.db;
    const known = key === undefined ? undefined : findKey(db, scope, key, now);
    if (known !== undefined) return known;
    const id = this.#insertNew(job, actor, now);
    if (key !== undefined) recordKey(db, scope, key, id, now);
    return id;
  }

  #classId(job: NewJob): number {
    const known = this.#classes.get(job.matchClass);
    if (known !== undefined) return known;
    const q = (sql: string) => this.#conn.q(sql);
    const found = q("SELECT id FROM match_classes WHERE key = ?").get(
      job.matchClass,
    ) as Row | undefined;
    let id: number;
    if (found) {
      id = Number(found.id);
    } else {
      const k = job.keys;
      const uniq = (
        xs: string[],
      ) => [...new Set(xs.map((x) => x.toLowerCase()))];
      const sites = uniq(k.sites);
      const ces = uniq(k.ces);
      const packages = uniq(k.packages);
      id = Number(
        q(
          `INSERT INTO match_classes (key, cpu_cores, ttl, memory, disk,
             n_sites, n_ces, n_packages, residual)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          job.matchClass,
          k.cpuCores,
          k.ttl,
          k.memory,
          k.disk,
          sites.length,
          ces.length,
          packages.length,
          k.residual ? 1 : 0,
        ).lastInsertRowid,
      );
      for (
        const [table, values] of [
          ["class_sites", sites],
          ["class_ces", ces],
          ["class_packages", packages],
        ] as const
      ) {
        const ins = q(`INSERT INTO ${table} (class_id, value) VALUES (?, ?)`);
        for (const v of values) ins.run(id, v);
      }
    }
    this.#classes.set(job.matchClass, id);
    return id;
  }

  #insertNew(job: NewJob, actor: string, now: number): number {
    const conn = this.#conn;
    const classId = this.#classId(job);
    const maxWait = job.maxWaitingSeconds === undefined
      ? null
      : Math.round(job.maxWaitingSeconds * 1000);
    const r = conn.q(
      `INSERT INTO jobs (owner, state, jdl, class_id, priority, cpu_cores, ttl,
         memory, disk, max_wait_ms, created_at, updated_at, expires_at, message)
       VALUES (?, 'WAITING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted')`,
    ).run(
      job.owner,
      job.jdl,
      classId,
      job.priority,
      job.keys.cpuCores,
      job.keys.ttl,
      job.keys.memory,
      job.keys.disk,
      maxWait,
      now,
      now,
      maxWait === null ? null : now + maxWait,
    );
    const id = Number(r.lastInsertRowid);
    conn.q("INSERT OR IGNORE INTO owners (owner) VALUES (?)").run(job.owner);
    enqueue(conn, classId, job.owner, id, job.priority);
    addTrace(conn, id, now, "WAITING", actor, "submitted");
    return id;
  }
}

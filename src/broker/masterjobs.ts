/**
 * Masterjobs in the SQLite queue: a master is a row of its own table with
 * an ID from the jobs' own sequence (so master and job IDs never clash),
 * linked to its subjobs, which are ordinary jobs. Subjobs and links are
 * stored in one transaction.
 *
 * A master is `SPLIT` while any subjob is not final and becomes `DONE`
 * when all are (whatever their outcome: the counts by state tell). The
 * state is brought up to date whenever a master is read.
 * `MasterResubmitThreshold` is ignored: resubmit a master to resubmit its
 * failed subjobs.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { FINAL_STATES, type JobState } from "../protocol/job_state.ts";
import type { NewJob } from "./store.ts";
import type { SqliteJobStore } from "./store_sqlite.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS masterjobs (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  split TEXT NOT NULL,
  jdl TEXT NOT NULL,
  subjobs INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS masterjobs_owner ON masterjobs (owner, id);
CREATE TABLE IF NOT EXISTS subjobs (
  job_id INTEGER PRIMARY KEY,
  master_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS subjobs_master ON subjobs (master_id, job_id);
`;

/** A masterjob as the API shows it. */
export interface MasterRecord {
  /** Master ID (from the same sequence as job IDs). */
  id: string;
  /** Submitting user. */
  owner: string;
  /** `SPLIT` while subjobs run, then `DONE`. */
  state: "SPLIT" | "DONE";
  /** The `Split` value, e.g. `production:1-50`. */
  split: string;
  /** The master's JDL (canonical, arguments filled). */
  jdl: string;
  /** Number of subjobs. */
  subjobs: number;
  /** Subjobs by state. */
  counts: Partial<Record<JobState, number>>;
  /** Submission time, ms since epoch. */
  createdAt: number;
  /** Last change, ms since epoch. */
  updatedAt: number;
}

type Row = Record<string, unknown>;

/** Masterjob bookkeeping next to a {@link SqliteJobStore}. */
export class MasterJobs {
  #store: SqliteJobStore;

  private constructor(store: SqliteJobStore) {
    this.#store = store;
  }

  /** Creates the tables if needed. */
  static async open(store: SqliteJobStore): Promise<MasterJobs> {
    await store.withDatabase(true, (db) => db.exec(SCHEMA));
    return new MasterJobs(store);
  }

  /**
   * Takes the next ID of the jobs' sequence for a master: AUTOINCREMENT
   * never hands out an ID at or below the sequence's value.
   */
  reserveId(): Promise<string> {
    return this.#store.withDatabase(true, (db) => {
      db.prepare(
        `INSERT INTO sqlite_sequence (name, seq)
         SELECT 'jobs', coalesce((SELECT max(id) FROM jobs), 0)
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs')`,
      ).run();
      const r = db.prepare(
        "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'jobs' RETURNING seq",
      ).get() as Row;
      return String(r.seq);
    });
  }

  /** Stores the master `id` (from {@link reserveId}) with its subjobs. */
  create(
    id: string,
    owner: string,
    split: string,
    jdl: string,
    subjobs: NewJob[],
    actor: string,
  ): Promise<string[]> {
    return this.#store.submitLinked(subjobs, actor, (db, ids) => {
      const now = Date.now();
      db.prepare(
        `INSERT INTO masterjobs (id, owner, state, split, jdl, subjobs,
           created_at, updated_at) VALUES (?, ?, 'SPLIT', ?, ?, ?, ?, ?)`,
      ).run(Number(id), owner, split, jdl, ids.length, now, now);
      const link = db.prepare(
        "INSERT INTO subjobs (job_id, master_id) VALUES (?, ?)",
      );
      for (const j of ids) link.run(Number(j), Number(id));
      traceRow(
        db,
        id,
        now,
        "SPLIT",
        actor,
        `split into ${ids.length} subjobs (${split})`,
      );
      return ids;
    });
  }

  /** One master, its state brought up to date; undefined if `id` is none. */
  async get(id: string): Promise<MasterRecord | undefined> {
    const m = await this.#store.withDatabase(false, (db) => read(db, id));
    if (m === undefined || m.state === "DONE") return m;
    return await this.#settle(m);
  }

  /** Masters, newest first (of `owner`, or all). */
  async list(
    owner: string | undefined,
    limit: number,
  ): Promise<MasterRecord[]> {
    const ids = await this.#store.withDatabase(false, (db) => {
      const rows = (owner === undefined
        ? db.prepare("SELECT id FROM masterjobs ORDER BY id DESC LIMIT ?")
          .all(limit)
        : db.prepare(
          "SELECT id FROM masterjobs WHERE owner = ? ORDER BY id DESC LIMIT ?",
        ).all(owner, limit)) as Row[];
      return rows.map((r) =>
        String(r.id)
      );
    });
    const out: MasterRecord[] = [];
    for (const id of ids) {
      const m = await this.get(id);
      if (m) out.push(m);
    }
    return out;
  }

  /** Back to `SPLIT` (its subjobs were resubmitted). */
  reopen(id: string, actor: string, reason: string): Promise<void> {
    return this.#store.withDatabase(true, (db) => {
      const now = Date.now();
      const r = db.prepare(
        "UPDATE masterjobs SET state = 'SPLIT', updated_at = ? WHERE id = ? AND state = 'DONE'",
      ).run(now, Number(id));
      if (Number(r.changes) === 1) {
        traceRow(db, id, now, "SPLIT", actor, reason);
      }
    });
  }

  /** The subjob IDs of a master, in order. */
  subjobIds(id: string): Promise<string[]> {
    return this.#store.withDatabase(false, (db) =>
      (db.prepare(
        "SELECT job_id FROM subjobs WHERE master_id = ? ORDER BY job_id",
      ).all(Number(id)) as Row[]).map((r) => String(r.job_id)));
  }

  /** The master of a subjob, if it has one. */
  masterOf(jobId: string): Promise<string | undefined> {
    return this.#store.withDatabase(false, (db) => {
      const r = db.prepare("SELECT master_id FROM subjobs WHERE job_id = ?")
        .get(Number(jobId)) as Row | undefined;
      return r ? String(r.master_id) : undefined;
    });
  }

  async #settle(m: MasterRecord): Promise<MasterRecord> {
    const open = Object.entries(m.counts).some(([s, n]) =>
      (n ?? 0) > 0 && !FINAL_STATES.has(s as JobState)
    );
    if (open || m.subjobs === 0) return m;
    const now = Date.now();
    const changed = await this.#store.withDatabase(true, (db) => {
      const r = db.prepare(
        "UPDATE masterjobs SET state = 'DONE', updated_at = ? WHERE id = ? AND state = 'SPLIT'",
      ).run(now, Number(m.id));
      if (Number(r.changes) !== 1) return false;
      const summary = Object.entries(m.counts).map(([s, n]) => `${n} ${s}`)
        .join(", ");
      traceRow(
        db,
        m.id,
        now,
        "DONE",
        "broker",
        `all subjobs final: ${summary}`,
      );
      return true;
    });
    return changed ? { ...m, state: "DONE", updatedAt: now } : m;
  }
}

function traceRow(
  db: DatabaseSync,
  id: string,
  at: number,
  state: string,
  actor: string,
  reason: string,
): void {
  db.prepare(
    "INSERT INTO trace (job_id, at, state, actor, reason) VALUES (?, ?, ?, ?, ?)",
  ).run(Number(id), at, state, actor, reason);
}

function read(db: DatabaseSync, id: string): MasterRecord | undefined {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const r = db.prepare("SELECT * FROM masterjobs WHERE id = ?").get(
    Number(id),
  ) as Row | undefined;
  if (!r) return undefined;
  const counts: Partial<Record<JobState, number>> = {};
  for (
    const c of db.prepare(
      `SELECT j.state AS state, count(*) AS n FROM subjobs s
       JOIN jobs j ON j.id = s.job_id WHERE s.master_id = ? GROUP BY j.state`,
    ).all(Number(id)) as Row[]
  ) counts[c.state as JobState] = Number(c.n);
  return {
    id: String(r.id),
    owner: r.owner as string,
    state: r.state as "SPLIT" | "DONE",
    split: r.split as string,
    jdl: r.jdl as string,
    subjobs: Number(r.subjobs),
    counts,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

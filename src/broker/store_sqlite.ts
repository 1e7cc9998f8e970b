/**
 * SQLite task queue (`node:sqlite`), the embedded default.
 *
 * Durability: WAL journal. Every write resolves only once the WAL is on
 * disk, so a job ID or a match handed to a client survives a crash (even a
 * power loss), and a crash never hands one job to two agents (a claim is a
 * compare-and-set inside one write transaction). The default `"group"`
 * mode gets there with group commit: transactions commit with
 * `synchronous=NORMAL` and their promises wait for one `fdatasync` of the
 * WAL that started after them, run off the event loop; writes that arrive
 * while a sync runs share the next one. That is `synchronous=FULL`'s
 * guarantee (which syncs inside every commit, blocking the event loop) at a
 * fraction of the syncs. Reads may see a committed write a moment before it
 * is durable; nothing is acknowledged to the writer before.
 *
 * Checkpoints (copying the WAL into the database file) run in a worker
 * thread on their own connection, so they never stall a request.
 *
 * Matching: every job belongs to a match class ({@link ./match_class.ts});
 * classes carry the indexed requirements (cores, TTL, memory, disk, and
 * side tables of allowed sites, CEs and needed packages). The queue keeps
 * one head per (class, user): the user's best waiting job of that class.
 * A claim first finds the classes the slot admits in an in-memory copy of
 * the (append-only) class table; none, and it is done without a query.
 * Then one SQL query reads queue heads in fair-share order (fewest running
 * jobs first, then least recently served, then priority, then age) and the
 * first acceptable head wins: over the heads of the admitted classes when
 * they are few, else walking the users in that order with the class test
 * in SQL, which stops early because big slots admit most heads. Only heads
 * of residual classes go back to JavaScript for `Requirements`, once per
 * class. Heads and per-user running counts are kept up to date in the
 * same transaction as every state change.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { JobState } from "../protocol/job_state.ts";
import type { Usage } from "../protocol/usage.ts";
import type {
  ClaimOptions,
  FileRecord,
  JobFilter,
  JobRecord,
  JobStore,
  NewJob,
  SlotOffer,
  TraceEntry,
  TransitionExtra,
} from "./store.ts";
import { REQUEST_KEYS_SCHEMA } from "./idempotency.ts";
import { type Durability, SqliteConnection } from "./sqlite_connection.ts";
import { type Row, toJob } from "./store_rows.ts";
import { ACTIVE_SQL, migrate, SchemaError } from "./sqlite_schema.ts";
import { addTrace, jobRow, transitionJob } from "./sqlite_transitions.ts";
import { JobInserter } from "./sqlite_submit.ts";
import { SqliteMatcher } from "./sqlite_claim.ts";
import * as files from "./sqlite_files.ts";

export { type Durability, SchemaError };

/** Options of {@link SqliteJobStore}. */
export interface SqliteStoreOptions {
  /** See {@link Durability}. @default "group" */
  durability?: Durability;
  /**
   * Milliseconds between WAL checkpoints run by a worker thread on its own
   * connection, off the event loop; 0 = SQLite's inline automatic
   * checkpoints (which stall the committing request). @default 250
   */
  checkpointIntervalMs?: number;
  /**
   * When a slot admits at most this many match classes, a claim looks at
   * the heads of those classes only; above, it walks users in fair-share
   * order and stops at the first admitted head. @default 256
   */
  fewClasses?: number;
}

/**
 * The SQLite task queue: the {@link JobStore} over one connection, with
 * submission ({@link ./sqlite_submit.ts}), matching
 * ({@link ./sqlite_claim.ts}), state changes
 * ({@link ./sqlite_transitions.ts}) and the file catalogue
 * ({@link ./sqlite_files.ts}) in files of their own.
 *
 * @example
 * ```ts ignore
 * const store = new SqliteJobStore(`${stateDir}/queue.db`);
 * const id = await store.submit(newJob, "USER:alice");
 * await store.close();
 * ```
 */
export class SqliteJobStore implements JobStore {
  #conn: SqliteConnection;
  #inserter: JobInserter;
  #matcher: SqliteMatcher;

  /** Opens (and creates) the database file at `path`. */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.#conn = new SqliteConnection(path, opts, (conn) => {
      migrate(conn, path);
      conn.db.exec(REQUEST_KEYS_SCHEMA);
    });
    this.#inserter = new JobInserter(this.#conn);
    this.#conn.onRollback = () => this.#inserter.forget();
    this.#matcher = new SqliteMatcher(this.#conn, opts.fewClasses ?? 256);
  }

  /**
   * Inserts one WAITING job and its first trace entry; resolves once durable.
   */
  async submit(job: NewJob, actor: string): Promise<string> {
    return String(
      await this.#conn.write(() =>
        this.#inserter.insert(job, actor, Date.now())
      ),
    );
  }

  /** Inserts all `jobs` in one transaction (one fsync), IDs in order. */
  submitMany(jobs: NewJob[], actor: string): Promise<string[]> {
    return this.#conn.write(() => {
      const now = Date.now();
      return jobs.map((j) => String(this.#inserter.insert(j, actor, now)));
    });
  }

  /** One job row, or undefined for an unknown or malformed ID. */
  get(id: string): Promise<JobRecord | undefined> {
    return this.#conn.read(() => {
      const r = jobRow(this.#conn, Number(id));
      return r ? toJob(r) : undefined;
    });
  }

  /** Jobs matching `filter` (owner, states), newest first, up to its limit. */
  list(filter: JobFilter): Promise<JobRecord[]> {
    return this.#conn.read(() => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (filter.owner !== undefined) {
        where.push("owner = ?");
        args.push(filter.owner);
      }
      if (filter.states && filter.states.length > 0) {
        where.push(`state IN (${filter.states.map(() => "?").join(",")})`);
        args.push(...filter.states);
      }
      if (filter.before !== undefined) {
        where.push("id < ?");
        args.push(filter.before);
      }
      const sql = `SELECT * FROM jobs ${
        where.length ? "WHERE " + where.join(" AND ") : ""
      } ORDER BY id DESC LIMIT ?`;
      args.push(filter.limit ?? 1000);
      const rows = this.#conn.q(sql).all(...args) as Row[];
      return rows.map(toJob);
    });
  }

  /** The job's transitions, oldest first. */
  trace(id: string): Promise<TraceEntry[]> {
    return this.#conn.read(() => {
      const rows = this.#conn.q(
        "SELECT at, state, actor, reason FROM trace WHERE job_id = ? ORDER BY seq",
      ).all(Number(id)) as Row[];
      return rows.map((r) => ({
        at: Number(r.at),
        state: r.state as JobState,
        actor: r.actor as string,
        reason: r.reason as string,
      }));
    });
  }

  /** @see SqliteMatcher.claim */
  claim(
    slot: SlotOffer,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
    opts: ClaimOptions = {},
  ): Promise<JobRecord | undefined> {
    return this.#matcher.claim(slot, agent, accept, opts);
  }

  /** Stores the serial of the job token issued for the current attempt. */
  setTokenSerial(id: string, serial: string): Promise<void> {
    return this.#conn.write(() => {
      this.#conn.q("UPDATE jobs SET token_serial = ? WHERE id = ?").run(
        serial,
        Number(id),
      );
    });
  }

  /**
   * Compare-and-set of the job's state, with its trace entry and side
   * effects (running counts, requeue on WAITING), in one transaction.
   */
  transition(
    id: string,
    from: JobState,
    to: JobState,
    entry: { actor: string; reason: string },
    extra: TransitionExtra = {},
  ): Promise<JobState | undefined> {
    return this.#conn.write(() =>
      transitionJob(this.#conn, id, from, to, entry, extra)
    );
  }

  /**
   * Stamps the job's last heartbeat and keeps its latest usage (not fsynced:
   * a lost heartbeat is harmless).
   */
  heartbeat(id: string, usage: Usage | undefined): Promise<void> {
    return this.#conn.read(() => {
      this.#conn.q(
        `UPDATE jobs SET heartbeat_at = ?, usage = coalesce(?, usage)
         WHERE id = ? AND state IN ${ACTIVE_SQL}`,
      ).run(Date.now(), usage ? JSON.stringify(usage) : null, Number(id));
    });
  }

  /** @see JobStore.note */
  note(id: string, entry: { actor: string; reason: string }): Promise<void> {
    return this.#conn.write(() => {
      const row = jobRow(this.#conn, Number(id));
      if (row) {
        addTrace(
          this.#conn,
          id,
          Date.now(),
          row.state as JobState,
          entry.actor,
          entry.reason,
        );
      }
    });
  }

  /** @see JobStore.setUsage */
  setUsage(id: string, usage: Usage): Promise<void> {
    return this.#conn.write(() => {
      this.#conn.q("UPDATE jobs SET usage = ? WHERE id = ?").run(
        JSON.stringify(usage),
        Number(id),
      );
    });
  }

  /** Jobs counted by state and owner (for the metrics endpoint). */
  countJobs(): Promise<{ state: JobState; owner: string; n: number }[]> {
    return this.#conn.read(() =>
      (this.#conn.q(
        "SELECT state, owner, count(*) AS n FROM jobs GROUP BY state, owner",
      ).all() as Row[]).map((r) => ({
        state: r.state as JobState,
        owner: r.owner as string,
        n: Number(r.n),
      }))
    );
  }

  /** @see SqliteMatcher.countWaiting */
  countWaiting(slot: SlotOffer): Promise<number> {
    return this.#matcher.countWaiting(slot);
  }

  /** Active jobs whose last sign of life is older than `before` (ms). */
  silentSince(before: number, limit: number): Promise<JobRecord[]> {
    return this.#conn.read(() => {
      const rows = this.#conn.q(
        `SELECT * FROM jobs WHERE state IN ${ACTIVE_SQL} AND heartbeat_at < ?
         ORDER BY heartbeat_at LIMIT ?`,
      ).all(before, limit) as Row[];
      return rows.map(toJob);
    });
  }

  /** Waiting jobs whose MaxWaitingTime ended before `now` (ms). */
  overdue(now: number, limit: number): Promise<JobRecord[]> {
    return this.#conn.read(() => {
      const rows = this.#conn.q(
        `SELECT * FROM jobs WHERE state = 'WAITING' AND expires_at IS NOT NULL
           AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      ).all(now, limit) as Row[];
      return rows.map(toJob);
    });
  }

  /** Sets or (undefined) clears a user's running-job quota. */
  setUserQuota(owner: string, quota: number | undefined): Promise<void> {
    return this.#conn.write(() => {
      this.#conn.q(
        `INSERT INTO owners (owner, quota) VALUES (?, ?)
         ON CONFLICT (owner) DO UPDATE SET quota = excluded.quota`,
      ).run(owner, quota === undefined ? null : Math.max(0, Math.floor(quota)));
    });
  }

  /** Adds or replaces one catalogue entry (LFN → blob, size, SHA-256). */
  putFile(file: FileRecord): Promise<void> {
    return this.#conn.write(() => files.putFile(this.#conn, file));
  }

  /** The catalogue entry of `lfn`, if any. */
  getFile(lfn: string): Promise<FileRecord | undefined> {
    return this.#conn.read(() => files.getFile(this.#conn, lfn));
  }

  /** Catalogue entries whose LFN starts with `prefix`, sorted, one page. */
  listFiles(
    prefix: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<FileRecord[]> {
    return this.#conn.read(() => files.listFiles(this.#conn, prefix, page));
  }

  /** Removes a file's name; false when there was none. */
  deleteFile(lfn: string): Promise<boolean> {
    return this.#conn.write(() => files.deleteFile(this.#conn, lfn));
  }

  /**
   * Stops the checkpointer, waits for pending writes and closes the database.
   */
  close(): Promise<void> {
    return this.#conn.close();
  }

  /**
   * Runs `fn` on the database: in a write transaction (durable when it
   * resolves) when `write`, else as a read. For modules that keep their
   * own tables next to the queue (masterjobs: `./masterjobs.ts`).
   */
  withDatabase<T>(write: boolean, fn: (db: DatabaseSync) => T): Promise<T> {
    const db = this.#conn.db;
    return write
      ? this.#conn.write(() => fn(db))
      : this.#conn.read(() => fn(db));
  }

  /**
   * Like {@link submitMany}, then `link(db, ids)` in the same transaction,
   * so jobs and what refers to them are stored together or not at all.
   */
  submitLinked<T>(
    jobs: NewJob[],
    actor: string,
    link: (db: DatabaseSync, ids: string[]) => T,
  ): Promise<T> {
    return this.#conn.write(() => {
      const now = Date.now();
      const ids = jobs.map((j) => String(this.#inserter.insert(j, actor, now)));
      return link(this.#conn.db, ids);
    });
  }

  /** Resolves once every write so far is durable (for a clean shutdown). */
  flush(): Promise<void> {
    return this.#conn.durable();
  }

  /**
   * Runs `fn` (one request's work) so that its writes share one durable
   * sync, awaited before it resolves (see group_commit.ts).
   */
  withOneSync<T>(fn: () => Promise<T>): Promise<T> {
    return this.#conn.withOneSync(fn);
  }

  /** Write transactions committed so far (the bench's writes per sync). */
  get writes(): number {
    return this.#conn.writes;
  }

  /** WAL syncs run so far (`"group"` durability). */
  get syncs(): number {
    return this.#conn.syncs;
  }
}

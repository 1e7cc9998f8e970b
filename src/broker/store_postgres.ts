/**
 * PostgreSQL task queue: the store that N broker replicas share.
 *
 * Same contract as the embedded SQLite store ({@link ./store_sqlite.ts});
 * what differs is how it stays correct with several writers:
 *
 * - claims lock their candidate with `FOR UPDATE SKIP LOCKED` and move it
 *   with a compare-and-set ({@link ./store_postgres_claim.ts});
 * - every other state change locks the job row first (`FOR UPDATE`), so
 *   two replicas moving one job serialize and the second sees the first's
 *   result;
 * - new match classes are inserted under an advisory lock held to commit,
 *   so class IDs become visible in order and each replica's in-memory
 *   class index can load "everything above the highest ID I know";
 * - job token serials have a unique index: a serial is never current for
 *   two jobs, whichever replica issued it;
 * - the sweeper runs on the one replica holding a session-level advisory
 *   lock ({@link PostgresJobStore.sweeperLeader}); it passes to another
 *   replica when that one's connection dies.
 *
 * Writes resolve after PostgreSQL's commit (its own WAL fsync, with the
 * server's `synchronous_commit`). Deadlocks and serialization failures are
 * retried.
 *
 * @example
 * ```ts ignore
 * const store = await PostgresJobStore.open("postgres://broker@db/splitpilot");
 * const id = await store.submit(job, "USER:alice");
 * await store.close();
 * ```
 *
 * @module
 */
import { ACTIVE_STATES, type JobState } from "../protocol/job_state.ts";
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
import { matchScope, submitScope } from "./idempotency.ts";
import { migrate, SWEEPER_LOCK } from "./store_postgres_schema.ts";
import {
  connect,
  type ReservedSql,
  retryable,
  type Sql,
  type Tx,
} from "./store_postgres_sql.ts";
import {
  addTrace,
  countWaiting,
  moveJob,
  toTrace,
} from "./store_postgres_rows.ts";
import { toJob } from "./store_rows.ts";
import { claimIn } from "./store_postgres_claim.ts";
import { insertBatch } from "./store_postgres_bulk.ts";
import { indexSlot, PostgresClasses } from "./store_postgres_classes.ts";
import { findKey, recordKey } from "./store_postgres_keys.ts";
import {
  deleteFile,
  getFile,
  listFiles,
  putFile,
} from "./store_postgres_files.ts";

const ACTIVE = [...ACTIVE_STATES];

/** Options of {@link PostgresJobStore.open}. */
export interface PostgresStoreOptions {
  /** Connection pool size. @default 10 */
  poolSize?: number;
  /** See `SqliteStoreOptions.fewClasses`. @default 256 */
  fewClasses?: number;
}

export { isPostgresUrl } from "./database_url.ts";

/** The PostgreSQL task queue; see the module doc. */
export class PostgresJobStore implements JobStore {
  #sql: Sql;
  #classes = new PostgresClasses();
  #fewClasses: number;
  #leader: ReservedSql | undefined;

  private constructor(sql: Sql, opts: PostgresStoreOptions) {
    this.#sql = sql;
    this.#fewClasses = opts.fewClasses ?? 256;
  }

  /** Connects to `url` and applies pending migrations. */
  static async open(
    url: string,
    opts: PostgresStoreOptions = {},
  ): Promise<PostgresJobStore> {
    const sql = connect(url, { max: opts.poolSize });
    try {
      await migrate(sql);
    } catch (e) {
      await sql.end({ timeout: 1 });
      throw e;
    }
    return new PostgresJobStore(sql, opts);
  }

  /** Runs `fn` in a transaction, again on deadlock or serialization failure. */
  async #tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#sql.begin(fn) as T;
      } catch (e) {
        // A class inserted by a rolled-back transaction is no class.
        this.#classes.forget();
        if (!retryable(e) || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  async #insert(tx: Tx, job: NewJob, actor: string, now: number) {
    const key = job.idempotencyKey;
    const scope = submitScope(job.owner);
    if (key !== undefined) {
      const known = await findKey(tx, scope, key, now);
      if (known !== undefined) return known;
    }
    const classId = await this.#classes.classId(tx, job);
    const maxWait = job.maxWaitingSeconds === undefined
      ? null
      : Math.round(job.maxWaitingSeconds * 1000);
    const [r] = await tx`
      INSERT INTO jobs (owner, state, jdl, class_id, priority, cpu_cores, ttl,
        memory, disk, max_wait_ms, created_at, updated_at, expires_at, message)
      VALUES (${job.owner}, 'WAITING', ${job.jdl}, ${classId}, ${job.priority},
        ${job.keys.cpuCores}, ${job.keys.ttl}, ${job.keys.memory},
        ${job.keys.disk}, ${maxWait}::int8, ${now}, ${now},
        ${maxWait === null ? null : now + maxWait}::int8, 'submitted')
      RETURNING id`;
    const id = Number(r.id);
    await tx`INSERT INTO owners (owner) VALUES (${job.owner})
      ON CONFLICT (owner) DO NOTHING`;
    await countWaiting(tx, job.owner, classId, 1);
    await addTrace(tx, id, now, "WAITING", actor, "submitted");
    if (key !== undefined) await recordKey(tx, scope, key, id, now);
    return id;
  }

  /** Inserts one WAITING job and its first trace entry. */
  submit(job: NewJob, actor: string): Promise<string> {
    return this.#tx(async (tx) =>
      String(await this.#insert(tx, job, actor, Date.now()))
    );
  }

  /**
   * Inserts all `jobs` in one transaction, IDs in order (a few statements
   * for the whole batch unless jobs carry idempotency keys).
   */
  submitMany(jobs: NewJob[], actor: string): Promise<string[]> {
    return this.#tx(async (tx) => {
      const now = Date.now();
      if (jobs.every((j) => j.idempotencyKey === undefined)) {
        const classIds: number[] = [];
        for (const j of jobs) classIds.push(await this.#classes.classId(tx, j));
        return (await insertBatch(tx, jobs, classIds, actor, now)).map(String);
      }
      const ids: string[] = [];
      for (const j of jobs) {
        ids.push(String(await this.#insert(tx, j, actor, now)));
      }
      return ids;
    });
  }

  /** One job, or undefined for an unknown or malformed ID. */
  async get(id: string): Promise<JobRecord | undefined> {
    if (!/^\d{1,15}$/.test(id)) return undefined;
    const [r] = await this.#sql`SELECT * FROM jobs WHERE id = ${Number(id)}`;
    return r ? toJob(r) : undefined;
  }

  /** Jobs matching `filter`, newest first, up to its limit. */
  async list(filter: JobFilter): Promise<JobRecord[]> {
    const sql = this.#sql;
    const conds = [sql`true`];
    if (filter.owner !== undefined) conds.push(sql`owner = ${filter.owner}`);
    if (filter.states && filter.states.length > 0) {
      conds.push(sql`state = ANY(${filter.states}::text[])`);
    }
    if (filter.before !== undefined) {
      conds.push(sql`id < ${Math.floor(filter.before)}`);
    }
    const where = conds.reduce((a, c) => sql`${a} AND ${c}`);
    const rows = await sql`SELECT * FROM jobs WHERE ${where}
      ORDER BY id DESC LIMIT ${filter.limit ?? 1000}`;
    return rows.map(toJob);
  }

  /** The job's transitions, oldest first. */
  async trace(id: string): Promise<TraceEntry[]> {
    if (!/^\d{1,15}$/.test(id)) return [];
    const rows = await this.#sql`SELECT at, state, actor, reason FROM trace
      WHERE job_id = ${Number(id)} ORDER BY seq`;
    return rows.map(toTrace);
  }

  /** @see JobStore.claim */
  async claim(
    slot: SlotOffer,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
    opts: ClaimOptions = {},
  ): Promise<JobRecord | undefined> {
    const quota = opts.userQuota ?? Infinity;
    const filter = indexSlot(slot);
    const key = opts.requestKey;
    const scope = matchScope(agent.fingerprint);
    await this.#classes.refresh(this.#sql);
    // All of them: the walk over users tests the class of each row.
    const admitted = this.#classes.index.admitted(filter);
    // No class fits: nothing to look at (an idle pilot's poll is cheap).
    if (admitted.length === 0 && key === undefined) return undefined;
    const row = await this.#tx(async (tx) => {
      const now = Date.now();
      if (key !== undefined) {
        const known = await findKey(tx, scope, key, now);
        if (known !== undefined) {
          const [r] = await tx`SELECT * FROM jobs WHERE id = ${known}`;
          return r && r.state === "ASSIGNED" && r.agent === agent.fingerprint
            ? r
            : undefined;
        }
      }
      const got = await claimIn(tx, {
        admitted,
        few: admitted.length <= this.#fewClasses,
        quota: Number.isFinite(quota)
          ? Math.max(0, Math.floor(quota))
          : 2 ** 31 - 1,
        agent,
        accept,
        index: this.#classes.index,
        now,
      });
      if (got && key !== undefined) {
        await recordKey(tx, scope, key, Number(got.id), now);
      }
      return got;
    });
    return row ? toJob(row) : undefined;
  }

  /** Stores the serial of the job token issued for the current attempt. */
  async setTokenSerial(id: string, serial: string): Promise<void> {
    await this.#sql`UPDATE jobs SET token_serial = ${serial}
      WHERE id = ${Number(id)}`;
  }

  /** @see JobStore.transition */
  transition(
    id: string,
    from: JobState,
    to: JobState,
    entry: { actor: string; reason: string },
    extra: TransitionExtra = {},
  ): Promise<JobState | undefined> {
    if (!/^\d{1,15}$/.test(id)) return Promise.resolve(undefined);
    return this.#tx(async (tx): Promise<JobState | undefined> => {
      const now = Date.now();
      const [row] = await tx`SELECT * FROM jobs WHERE id = ${Number(id)}
        FOR UPDATE`;
      if (!row || row.state !== from) return undefined;
      const moved = await moveJob(tx, row, to, entry, now, extra);
      if (!moved) return undefined;
      const limit = extra.requeueLimit;
      if (limit === undefined || to === "WAITING") return to;
      const attempts = Number(row.resubmissions);
      if (attempts >= limit) return to;
      await moveJob(tx, moved, "WAITING", {
        actor: "broker",
        reason: `automatic resubmission ${attempts + 1}/${limit} after ${to}`,
      }, now);
      return "WAITING";
    });
  }

  /** Stamps the job's last heartbeat and keeps its latest usage. */
  async heartbeat(id: string, usage: Usage | undefined): Promise<void> {
    await this.#sql`UPDATE jobs SET heartbeat_at = ${Date.now()},
      usage = coalesce(${usage ? JSON.stringify(usage) : null}::text, usage)
      WHERE id = ${Number(id)} AND state = ANY(${ACTIVE}::text[])`;
  }

  /** @see JobStore.setUsage */
  async setUsage(id: string, usage: Usage): Promise<void> {
    await this.#sql`UPDATE jobs SET usage = ${JSON.stringify(usage)}
      WHERE id = ${Number(id)}`;
  }

  /** Jobs counted by state and owner (for the metrics endpoint). */
  async countJobs(): Promise<{ state: JobState; owner: string; n: number }[]> {
    const rows = await this.#sql`SELECT state, owner, count(*) AS n FROM jobs
      GROUP BY state, owner`;
    return rows.map((r) => ({
      state: r.state as JobState,
      owner: r.owner as string,
      n: Number(r.n),
    }));
  }

  /** @see JobStore.countWaiting */
  async countWaiting(slot: SlotOffer): Promise<number> {
    await this.#classes.refresh(this.#sql);
    const ids = this.#classes.index.admitted(indexSlot(slot));
    if (ids.length === 0) return 0;
    const [r] = await this.#sql`SELECT coalesce(sum(waiting), 0) AS n
      FROM queue_counts WHERE class_id = ANY(${ids}::int8[])`;
    return Number(r.n);
  }

  /** Active jobs whose last sign of life is older than `before` (ms). */
  async silentSince(before: number, limit: number): Promise<JobRecord[]> {
    const rows = await this.#sql`SELECT * FROM jobs
      WHERE state = ANY(${ACTIVE}::text[]) AND heartbeat_at < ${before}
      ORDER BY heartbeat_at LIMIT ${limit}`;
    return rows.map(toJob);
  }

  /** Waiting jobs whose MaxWaitingTime ended before `now` (ms). */
  async overdue(now: number, limit: number): Promise<JobRecord[]> {
    const rows = await this.#sql`SELECT * FROM jobs WHERE state = 'WAITING'
      AND expires_at IS NOT NULL AND expires_at <= ${now}
      ORDER BY expires_at LIMIT ${limit}`;
    return rows.map(toJob);
  }

  /** Sets or (undefined) clears a user's running-job quota. */
  async setUserQuota(owner: string, quota: number | undefined): Promise<void> {
    const q = quota === undefined ? null : Math.max(0, Math.floor(quota));
    await this.#sql`INSERT INTO owners (owner, quota) VALUES (${owner}, ${q})
      ON CONFLICT (owner) DO UPDATE SET quota = excluded.quota`;
  }

  /** Adds or replaces one catalogue entry. */
  putFile(file: FileRecord): Promise<void> {
    return putFile(this.#sql, file);
  }

  /** The catalogue entry of `lfn`, if any. */
  getFile(lfn: string): Promise<FileRecord | undefined> {
    return getFile(this.#sql, lfn);
  }

  /** Catalogue entries whose LFN starts with `prefix`, sorted, one page. */
  listFiles(
    prefix: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<FileRecord[]> {
    return listFiles(this.#sql, prefix, page);
  }

  /** Removes a file's name; false when there was none. */
  deleteFile(lfn: string): Promise<boolean> {
    return deleteFile(this.#sql, lfn);
  }

  /**
   * Whether this replica is the sweeper leader: takes (or keeps) a
   * session-level advisory lock on a connection of its own. The lock goes
   * with the connection, so a replica that dies hands leadership on.
   */
  async sweeperLeader(): Promise<boolean> {
    try {
      if (this.#leader) {
        // Still connected (a lost connection lost the lock too)?
        await this.#leader`SELECT 1`;
        return true;
      }
      const conn = await this.#sql.reserve();
      const [r] = await conn`SELECT pg_try_advisory_lock(
        ${SWEEPER_LOCK.toString()}::int8) AS ok`;
      if (r.ok === true) {
        this.#leader = conn;
        return true;
      }
      conn.release();
      return false;
    } catch {
      this.#leader?.release();
      this.#leader = undefined;
      return false;
    }
  }

  /** Releases the sweeper lock and the pool. */
  async close(): Promise<void> {
    if (this.#leader) {
      await this.#leader`SELECT pg_advisory_unlock_all()`.catch(() => {});
      this.#leader.release();
      this.#leader = undefined;
    }
    await this.#sql.end({ timeout: 5 });
  }
}

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
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type Checkpointer, startCheckpointer } from "./_checkpointer.ts";
import { SyncScopes } from "./group_commit.ts";
import { ClassIndex, type ClassInfo, type IndexSlot } from "./_class_index.ts";
import {
  ACTIVE_STATES,
  type JobState,
  sqlStateList,
} from "../protocol/job_state.ts";
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
import {
  findKey,
  matchScope,
  recordKey,
  REQUEST_KEYS_SCHEMA,
  submitScope,
} from "./idempotency.ts";

/** Schema version in `PRAGMA user_version`. */
const SCHEMA_VERSION = 2;

const ACTIVE_SQL = sqlStateList(ACTIVE_STATES);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  jdl TEXT NOT NULL,
  class_id INTEGER NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  cpu_cores INTEGER NOT NULL DEFAULT 1,
  ttl INTEGER NOT NULL,
  memory INTEGER NOT NULL DEFAULT 0,
  disk INTEGER NOT NULL DEFAULT 0,
  max_wait_ms INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  agent TEXT,
  agent_subject TEXT,
  token_serial TEXT,
  resubmissions INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  kill_reason INTEGER,
  heartbeat_at INTEGER,
  usage TEXT,
  message TEXT
);
CREATE INDEX IF NOT EXISTS jobs_queue
  ON jobs (class_id, owner, priority DESC, id) WHERE state = 'WAITING';
CREATE INDEX IF NOT EXISTS jobs_expiry
  ON jobs (expires_at) WHERE state = 'WAITING' AND expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_heartbeat
  ON jobs (heartbeat_at) WHERE state IN ${ACTIVE_SQL};
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, id);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS match_classes (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  cpu_cores INTEGER NOT NULL,
  ttl INTEGER NOT NULL,
  memory INTEGER NOT NULL,
  disk INTEGER NOT NULL,
  n_sites INTEGER NOT NULL,
  n_ces INTEGER NOT NULL,
  n_packages INTEGER NOT NULL,
  residual INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS class_sites (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS class_ces (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS class_packages (
  class_id INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (class_id, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_heads (
  class_id INTEGER NOT NULL,
  owner TEXT NOT NULL,
  waiting INTEGER NOT NULL,
  head_id INTEGER NOT NULL,
  head_priority INTEGER NOT NULL,
  PRIMARY KEY (class_id, owner)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS heads_owner
  ON queue_heads (owner, head_priority DESC, head_id);
CREATE TABLE IF NOT EXISTS owners (
  owner TEXT PRIMARY KEY,
  running INTEGER NOT NULL DEFAULT 0,
  served_at INTEGER NOT NULL DEFAULT 0,
  quota INTEGER) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS owners_share
  ON owners (running, served_at, owner);
CREATE TABLE IF NOT EXISTS trace (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_job ON trace (job_id, seq);
CREATE TABLE IF NOT EXISTS files (
  lfn TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  job_id INTEGER,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

// Fair share in one query, read in index order so it stops at the first
// head the slot admits: users by fewest running jobs, then least recently
// served (round robin); within a user, heads by priority, then age. A class
// lists its allowed sites/CEs and needed packages in side tables keyed by
// class, so each test is a primary-key probe.
const CLAIM_SQL = `
SELECT h.class_id AS class_id, h.head_id AS head_id
FROM owners o
CROSS JOIN queue_heads h ON h.owner = o.owner
CROSS JOIN match_classes c ON c.id = h.class_id
WHERE o.running < coalesce(o.quota, :quota)
  AND c.cpu_cores <= :cores AND c.ttl <= :ttl
  AND (:memory = 0 OR c.memory <= :memory)
  AND (:disk = 0 OR c.disk <= :disk)
  AND (c.n_sites = 0 OR EXISTS (SELECT 1 FROM class_sites s
        WHERE s.class_id = c.id AND s.value = :site))
  AND (c.n_ces = 0 OR EXISTS (SELECT 1 FROM class_ces e
        WHERE e.class_id = c.id AND e.value = :ce))
  AND (c.n_packages = 0 OR c.n_packages = (SELECT count(*) FROM class_packages p
        WHERE p.class_id = c.id
          AND p.value IN (SELECT value FROM json_each(:packages))))
ORDER BY o.running, o.served_at, o.owner, h.head_priority DESC, h.head_id`;

// The same order over the heads of a few classes known to be admitted
// (chosen by the in-memory class index): cost grows with those heads only.
const CLAIM_FEW_SQL = `
SELECT h.class_id AS class_id, h.head_id AS head_id
FROM json_each(:ids) a
CROSS JOIN queue_heads h ON h.class_id = a.value
CROSS JOIN owners o ON o.owner = h.owner
WHERE o.running < coalesce(o.quota, :quota)
ORDER BY o.running, o.served_at, o.owner, h.head_priority DESC, h.head_id`;

type Row = Record<string, unknown>;
type SqlValue = string | number | null;

const SIDE_TABLES = [
  ["class_sites", "sites"],
  ["class_ces", "ces"],
  ["class_packages", "packages"],
] as const;

function opt(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

/** A slot as the class index and the claim SQL filter it. */
function indexSlot(slot: SlotOffer): IndexSlot {
  return {
    cpuCores: Math.ceil(slot.cpuCores),
    ttl: Math.ceil(slot.ttl),
    memory: Math.ceil(slot.memory),
    disk: Math.ceil(slot.disk),
    site: slot.site?.toLowerCase() ?? null,
    ce: slot.ce?.toLowerCase() ?? null,
    packages: (slot.packages ?? []).map((p) => p.toLowerCase()),
  };
}

function toJob(r: Row): JobRecord {
  const job: JobRecord = {
    id: String(r.id),
    owner: r.owner as string,
    state: r.state as JobState,
    jdl: r.jdl as string,
    priority: Number(r.priority),
    cpuCores: Number(r.cpu_cores),
    ttl: Number(r.ttl),
    memory: Number(r.memory),
    disk: Number(r.disk),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    resubmissions: Number(r.resubmissions),
  };
  const optional: Partial<JobRecord> = {
    expiresAt: opt(r.expires_at),
    agent: (r.agent as string | null) ?? undefined,
    agentSubject: (r.agent_subject as string | null) ?? undefined,
    tokenSerial: (r.token_serial as string | null) ?? undefined,
    exitCode: opt(r.exit_code),
    killReason: opt(r.kill_reason),
    heartbeatAt: opt(r.heartbeat_at),
    usage: r.usage ? JSON.parse(r.usage as string) as Usage : undefined,
    message: (r.message as string | null) ?? undefined,
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== undefined) (job as unknown as Record<string, unknown>)[k] = v;
  }
  return job;
}

function toFile(r: Row): FileRecord {
  const f: FileRecord = {
    lfn: r.lfn as string,
    owner: r.owner as string,
    size: Number(r.size),
    sha256: r.sha256 as string,
    createdAt: Number(r.created_at),
  };
  if (r.job_id !== null) f.jobId = String(r.job_id);
  return f;
}

/** The schema of an existing database is not the one this code expects. */
export class SchemaError extends Error {
  /** @param message names the found and the expected schema version. */
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/**
 * How writes reach the disk: `"group"` (NORMAL commits + shared WAL
 * fdatasync before a write resolves), `"full"` (`synchronous=FULL`, one
 * sync inside each commit), `"normal"` (`synchronous=NORMAL` alone:
 * survives a crash of the process, not of the machine).
 */
export type Durability = "group" | "full" | "normal";

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

/** WAL pages after which the writer checkpoints itself (worker fallback). */
const FALLBACK_CHECKPOINT_PAGES = 50_000;

/** The SQLite task queue. */
export class SqliteJobStore implements JobStore {
  #db: DatabaseSync;
  #stmts = new Map<string, StatementSync>();
  /** Class key → ID; classes are never changed or deleted. */
  #classes = new Map<string, number>();
  #wal: string | undefined;
  #walFile: Deno.FsFile | undefined;
  #checkpointer: Checkpointer | undefined;
  #index = new ClassIndex();
  #fewClasses: number;
  #syncing: Promise<void> | undefined;
  #nextSync: Promise<void> | undefined;
  #scopes = new SyncScopes();
  /** Write transactions committed (for the bench: writes per sync). */
  writes = 0;
  /** WAL syncs run (`"group"` durability). */
  syncs = 0;

  /** Opens (and creates) the database file at `path`. */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    const durability = opts.durability ?? "group";
    this.#fewClasses = opts.fewClasses ?? 256;
    this.#db = new DatabaseSync(path);
    try {
      this.#db.exec("PRAGMA busy_timeout=5000");
      this.#db.exec("PRAGMA journal_mode=WAL");
      this.#db.exec(
        `PRAGMA synchronous=${durability === "full" ? "FULL" : "NORMAL"}`,
      );
      this.#migrate(path);
      this.#db.exec(REQUEST_KEYS_SCHEMA);
    } catch (e) {
      this.#db.close();
      throw e;
    }
    const memory = path === ":memory:" || path === "";
    if (durability === "group" && !memory) this.#wal = `${path}-wal`;
    const interval = opts.checkpointIntervalMs ?? 250;
    if (interval > 0 && !memory) {
      this.#db.exec(`PRAGMA wal_autocheckpoint=${FALLBACK_CHECKPOINT_PAGES}`);
      this.#checkpointer = startCheckpointer(path, interval, () => {
        // Back to SQLite's own checkpoints in the writer.
        this.#db.exec("PRAGMA wal_autocheckpoint=1000");
      });
    }
  }

  /**
   * Resolves once an fdatasync of the WAL that started after the caller's
   * commit has finished.
   */
  #durable(): Promise<void> {
    if (this.#wal === undefined) return Promise.resolve();
    // A sync that has not started yet covers every commit before it.
    if (this.#nextSync) return this.#nextSync;
    if (!this.#syncing) return this.#startSync();
    const after = () => {
      this.#nextSync = undefined;
      return this.#startSync();
    };
    this.#nextSync = this.#syncing.then(after, after);
    return this.#nextSync;
  }

  #startSync(): Promise<void> {
    const p = this.#syncWal().finally(() => {
      if (this.#syncing === p) this.#syncing = undefined;
    });
    this.#syncing = p;
    return p;
  }

  async #syncWal(): Promise<void> {
    this.syncs++;
    // SQLite removes the WAL only when its last connection closes, and
    // ours is open: the file (truncated or not) stays the same inode.
    this.#walFile ??= await Deno.open(this.#wal!, { read: true, write: true });
    await this.#walFile.syncData();
  }

  /** Runs a read as a promise (errors reject rather than throw). */
  #read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs `fn` in a write transaction; resolves when it is durable. */
  async #write<T>(fn: () => T): Promise<T> {
    let out: T;
    try {
      out = this.#tx(fn);
    } catch (e) {
      // A class inserted by a rolled-back transaction may see its ID
      // reused by another key: forget the cached ones.
      this.#classes.clear();
      throw e;
    }
    this.writes++;
    if (!this.#scopes.defer()) await this.#durable();
    return out;
  }

  /**
   * Runs `fn` (one request's work) with one durable sync for all its
   * writes, before it resolves (see group_commit.ts).
   */
  withOneSync<T>(fn: () => Promise<T>): Promise<T> {
    return this.#scopes.run(fn, () => this.#durable());
  }

  #migrate(path: string) {
    const version = Number(
      (this.#db.prepare("PRAGMA user_version").get() as Row).user_version,
    );
    if (version === SCHEMA_VERSION) {
      this.#db.exec(SCHEMA);
      this.#tx(() => this.#rebuildDerived());
      return;
    }
    const tables = this.#db.prepare(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'",
    ).get() as Row;
    if (version !== 0 || Number(tables.n) > 0) {
      throw new SchemaError(
        `${path}: task queue schema version ${version}, expected ${SCHEMA_VERSION} (written by another splitpilot version; use a new state dir)`,
      );
    }
    this.#tx(() => {
      this.#db.exec(SCHEMA);
      this.#db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
    });
  }

  /**
   * Recomputes queue heads and running counts from the jobs table. They are
   * kept in step by every transition; rebuilding them at open (and if a
   * claim ever finds one out of step) means they cannot drift for long.
   */
  #rebuildDerived() {
    this.#db.exec(`
      DELETE FROM queue_heads;
      INSERT INTO queue_heads (class_id, owner, waiting, head_id, head_priority)
        SELECT class_id, owner, n, id, priority FROM (
          SELECT class_id, owner, id, priority,
            count(*) OVER (PARTITION BY class_id, owner) AS n,
            row_number() OVER (PARTITION BY class_id, owner
              ORDER BY priority DESC, id) AS rank
          FROM jobs WHERE state = 'WAITING')
        WHERE rank = 1;
      INSERT OR IGNORE INTO owners (owner) SELECT DISTINCT owner FROM jobs;
      UPDATE owners SET running = (SELECT count(*) FROM jobs
        WHERE jobs.owner = owners.owner AND state IN ${ACTIVE_SQL});
    `);
  }

  #q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #trace(
    id: number | string,
    at: number,
    state: JobState,
    actor: string,
    reason: string,
  ) {
    this.#q(
      "INSERT INTO trace (job_id, at, state, actor, reason) VALUES (?, ?, ?, ?, ?)",
    ).run(Number(id), at, state, actor, reason);
  }

  #classId(job: NewJob): number {
    const known = this.#classes.get(job.matchClass);
    if (known !== undefined) return known;
    const found = this.#q("SELECT id FROM match_classes WHERE key = ?").get(
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
        this.#q(
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
        const ins = this.#q(
          `INSERT INTO ${table} (class_id, value) VALUES (?, ?)`,
        );
        for (const v of values) ins.run(id, v);
      }
    }
    this.#classes.set(job.matchClass, id);
    return id;
  }

  #insert(job: NewJob, actor: string, now: number): number {
    const key = job.idempotencyKey;
    const scope = submitScope(job.owner);
    const known = key === undefined
      ? undefined
      : findKey(this.#db, scope, key, now);
    if (known !== undefined) return known;
    const id = this.#insertNew(job, actor, now);
    if (key !== undefined) recordKey(this.#db, scope, key, id, now);
    return id;
  }

  #insertNew(job: NewJob, actor: string, now: number): number {
    const classId = this.#classId(job);
    const maxWait = job.maxWaitingSeconds === undefined
      ? null
      : Math.round(job.maxWaitingSeconds * 1000);
    const r = this.#q(
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
    this.#q("INSERT OR IGNORE INTO owners (owner) VALUES (?)").run(job.owner);
    this.#enqueue(classId, job.owner, id, job.priority);
    this.#trace(id, now, "WAITING", actor, "submitted");
    return id;
  }

  /**
   * Inserts one WAITING job and its first trace entry; resolves once durable.
   */
  async submit(job: NewJob, actor: string): Promise<string> {
    return String(
      await this.#write(() => this.#insert(job, actor, Date.now())),
    );
  }

  /** Inserts all `jobs` in one transaction (one fsync), IDs in order. */
  submitMany(jobs: NewJob[], actor: string): Promise<string[]> {
    return this.#write(() => {
      const now = Date.now();
      return jobs.map((j) => String(this.#insert(j, actor, now)));
    });
  }

  /** Adds a waiting job to its (class, owner) head. */
  #enqueue(classId: number, owner: string, id: number, priority: number) {
    this.#q(
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
  #dequeue(classId: number, owner: string, id: number) {
    const h = this.#q(
      `UPDATE queue_heads SET waiting = waiting - 1
       WHERE class_id = ? AND owner = ? RETURNING waiting, head_id`,
    ).get(classId, owner) as Row | undefined;
    if (!h) return;
    if (Number(h.waiting) <= 0) {
      this.#q("DELETE FROM queue_heads WHERE class_id = ? AND owner = ?").run(
        classId,
        owner,
      );
      return;
    }
    if (Number(h.head_id) !== id) return;
    const next = this.#q(
      `SELECT id, priority FROM jobs WHERE state = 'WAITING'
         AND class_id = ? AND owner = ?
       ORDER BY priority DESC, id LIMIT 1`,
    ).get(classId, owner) as Row | undefined;
    if (!next) {
      this.#q("DELETE FROM queue_heads WHERE class_id = ? AND owner = ?").run(
        classId,
        owner,
      );
      return;
    }
    this.#q(
      `UPDATE queue_heads SET head_id = ?, head_priority = ?
       WHERE class_id = ? AND owner = ?`,
    ).run(Number(next.id), Number(next.priority), classId, owner);
  }

  /**
   * Adjusts a user's running count; `servedAt` when a job was handed out.
   * Serving times only grow, by at least 1 per claim, so round robin holds
   * for claims within one clock tick too.
   */
  #running(owner: string, delta: number, servedAt?: number) {
    if (delta === 0) return;
    const served = servedAt === undefined ? 0 : Math.max(
      servedAt,
      Number(
        (this.#q("SELECT coalesce(max(served_at), 0) AS m FROM owners")
          .get() as Row).m,
      ) + 1,
    );
    this.#q(
      `INSERT INTO owners (owner, running, served_at) VALUES (?, ?, ?)
       ON CONFLICT (owner) DO UPDATE SET
         running = max(0, running + excluded.running),
         served_at = CASE WHEN ? THEN excluded.served_at ELSE served_at END`,
    ).run(owner, delta, served, servedAt === undefined ? 0 : 1);
  }

  /**
   * The one place a job changes state: CAS on `from`, bookkeeping of the
   * queue heads and running counts, trace entry.
   */
  #move(
    row: Row,
    to: JobState,
    entry: { actor: string; reason: string },
    now: number,
    extra: TransitionExtra & {
      agent?: { fingerprint: string; subject: string };
    } = {},
  ): boolean {
    const from = row.state as JobState;
    const id = Number(row.id);
    const requeue = to === "WAITING";
    const maxWait = row.max_wait_ms === null ? null : Number(row.max_wait_ms);
    const active = ACTIVE_STATES.has(to);
    const r = this.#q(
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
    if (from === "WAITING") this.#dequeue(classId, owner, id);
    if (requeue) this.#enqueue(classId, owner, id, Number(row.priority));
    this.#running(
      owner,
      (active ? 1 : 0) - (ACTIVE_STATES.has(from) ? 1 : 0),
      extra.agent ? now : undefined,
    );
    this.#trace(id, now, to, entry.actor, entry.reason);
    return true;
  }

  #row(id: number): Row | undefined {
    return this.#q("SELECT * FROM jobs WHERE id = ?").get(id) as
      | Row
      | undefined;
  }

  /** One job row, or undefined for an unknown or malformed ID. */
  get(id: string): Promise<JobRecord | undefined> {
    return this.#read(() => {
      const r = this.#row(Number(id));
      return r ? toJob(r) : undefined;
    });
  }

  /** Jobs matching `filter` (owner, states), newest first, up to its limit. */
  list(filter: JobFilter): Promise<JobRecord[]> {
    return this.#read(() => {
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
      const rows = this.#q(sql).all(...args) as Row[];
      return rows.map(toJob);
    });
  }

  /** The job's transitions, oldest first. */
  trace(id: string): Promise<TraceEntry[]> {
    return this.#read(() => {
      const rows = this.#q(
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

  /**
   * Hands the agent the best waiting job its slot fits: SQL on the match
   * keys, `accept` only for residual classes, fair share by running jobs.
   */
  claim(
    slot: SlotOffer,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
    opts: ClaimOptions = {},
  ): Promise<JobRecord | undefined> {
    const quota = opts.userQuota ?? Infinity;
    const filter = indexSlot(slot);
    const packages = filter.packages;
    const quotaParam = Number.isFinite(quota)
      ? Math.max(0, Math.floor(quota))
      : Number.MAX_SAFE_INTEGER;
    const key = opts.requestKey;
    const scope = matchScope(agent.fingerprint);
    return this.#write(() => {
      const now = Date.now();
      if (key !== undefined) {
        const known = findKey(this.#db, scope, key, now);
        if (known !== undefined) {
          const r = this.#row(known);
          return r && r.state === "ASSIGNED" && r.agent === agent.fingerprint
            ? toJob(r)
            : undefined;
        }
      }
      this.#refreshIndex();
      const admitted = this.#index.admitted(filter, this.#fewClasses);
      // No class fits: nothing to look at (an idle pilot's poll is cheap).
      if (admitted.length === 0) return undefined;
      const query: { sql: string; params: Record<string, SqlValue> } =
        admitted.length <= this.#fewClasses
          ? {
            sql: CLAIM_FEW_SQL,
            params: { ids: JSON.stringify(admitted), quota: quotaParam },
          }
          : {
            sql: CLAIM_SQL,
            params: {
              cores: filter.cpuCores,
              ttl: filter.ttl,
              memory: filter.memory,
              disk: filter.disk,
              site: filter.site,
              ce: filter.ce,
              packages: JSON.stringify(packages),
              quota: quotaParam,
            },
          };
      const refused = new Set<number>();
      // Each round hands out a job, or expires one and looks again.
      for (let round = 0; round < 100_000; round++) {
        const pick = this.#pick(query, refused, accept, now);
        if (pick === undefined) return undefined;
        if (pick.expired) {
          this.#move(pick.row, "EXPIRED", {
            actor: "broker",
            reason: "waited longer than its maximum waiting time",
          }, now);
          continue;
        }
        this.#move(
          pick.row,
          "ASSIGNED",
          {
            actor: `JOB_AGENT:${agent.subject}`,
            reason: `matched by ${agent.subject}`,
          },
          now,
          { agent },
        );
        const id = Number(pick.row.id);
        if (key !== undefined) recordKey(this.#db, scope, key, id, now);
        return toJob(this.#row(id)!);
      }
      throw new Error("claim did not converge");
    });
  }

  /** Loads classes stored since the index last looked (by any process). */
  #refreshIndex() {
    const known = this.#index.maxId;
    const max = Number(
      (this.#q("SELECT coalesce(max(id), 0) AS m FROM match_classes")
        .get() as Row).m,
    );
    if (max <= known) return;
    const classes = new Map<number, ClassInfo>();
    for (
      const r of this.#q(
        "SELECT * FROM match_classes WHERE id > ? ORDER BY id",
      ).all(known) as Row[]
    ) {
      classes.set(Number(r.id), {
        id: Number(r.id),
        cpuCores: Number(r.cpu_cores),
        ttl: Number(r.ttl),
        memory: Number(r.memory),
        disk: Number(r.disk),
        sites: [],
        ces: [],
        packages: [],
        residual: Number(r.residual) === 1,
      });
    }
    for (const [table, field] of SIDE_TABLES) {
      for (
        const r of this.#q(
          `SELECT class_id, value FROM ${table} WHERE class_id > ?`,
        ).all(known) as Row[]
      ) {
        classes.get(Number(r.class_id))?.[field].push(r.value as string);
      }
    }
    this.#index.add([...classes.values()]);
  }

  /** The first admitted head in fair-share order (read-only). */
  #pick(
    query: { sql: string; params: Record<string, SqlValue> },
    refused: Set<number>,
    accept: (job: JobRecord) => boolean,
    now: number,
  ): { row: Row; expired: boolean } | undefined {
    const it = this.#q(query.sql).iterate(query.params);
    try {
      for (const h of it as Iterable<Row>) {
        const classId = Number(h.class_id);
        if (refused.has(classId)) continue;
        const row = this.#row(Number(h.head_id));
        if (!row || row.state !== "WAITING") {
          // Out of step (a bug, or a hand-edited database): heal, look again.
          it.return?.();
          this.#rebuildDerived();
          return this.#pick(query, refused, accept, now);
        }
        if (row.expires_at !== null && Number(row.expires_at) <= now) {
          return { row, expired: true };
        }
        if (this.#index.get(classId)?.residual && !accept(toJob(row))) {
          refused.add(classId);
          continue;
        }
        return { row, expired: false };
      }
      return undefined;
    } finally {
      // Ends the statement before the caller writes.
      (it as IterableIterator<Row>).return?.();
    }
  }

  /** Stores the serial of the job token issued for the current attempt. */
  setTokenSerial(id: string, serial: string): Promise<void> {
    return this.#write(() => {
      this.#q("UPDATE jobs SET token_serial = ? WHERE id = ?").run(
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
    return this.#write((): JobState | undefined => {
      const now = Date.now();
      const row = this.#row(Number(id));
      if (!row || row.state !== from) return undefined;
      if (!this.#move(row, to, entry, now, extra)) return undefined;
      const limit = extra.requeueLimit;
      if (limit === undefined || to === "WAITING") return to;
      const attempts = Number(row.resubmissions);
      if (attempts >= limit) return to;
      const again = this.#row(Number(id))!;
      this.#move(again, "WAITING", {
        actor: "broker",
        reason: `automatic resubmission ${attempts + 1}/${limit} after ${to}`,
      }, now);
      return "WAITING";
    });
  }

  /**
   * Stamps the job's last heartbeat and keeps its latest usage (not fsynced:
   * a lost heartbeat is harmless).
   */
  heartbeat(id: string, usage: Usage | undefined): Promise<void> {
    return this.#read(() => {
      this.#q(
        `UPDATE jobs SET heartbeat_at = ?, usage = coalesce(?, usage)
         WHERE id = ? AND state IN ${ACTIVE_SQL}`,
      ).run(Date.now(), usage ? JSON.stringify(usage) : null, Number(id));
    });
  }

  /** @see JobStore.setUsage */
  setUsage(id: string, usage: Usage): Promise<void> {
    return this.#write(() => {
      this.#q("UPDATE jobs SET usage = ? WHERE id = ?").run(
        JSON.stringify(usage),
        Number(id),
      );
    });
  }

  /** Jobs counted by state and owner (for the metrics endpoint). */
  countJobs(): Promise<{ state: JobState; owner: string; n: number }[]> {
    return this.#read(() =>
      (this.#q(
        "SELECT state, owner, count(*) AS n FROM jobs GROUP BY state, owner",
      ).all() as Row[]).map((r) => ({
        state: r.state as JobState,
        owner: r.owner as string,
        n: Number(r.n),
      }))
    );
  }

  /**
   * How many waiting jobs `slot` could run: the match classes its keys
   * admit, summed from the queue heads (residual requirements not
   * evaluated, so an upper bound).
   */
  countWaiting(slot: SlotOffer): Promise<number> {
    return this.#read(() => {
      this.#refreshIndex();
      const ids = this.#index.admitted(indexSlot(slot));
      if (ids.length === 0) return 0;
      const row = this.#q(
        `SELECT coalesce(sum(waiting), 0) AS n FROM queue_heads
         WHERE class_id IN (SELECT value FROM json_each(?))`,
      ).get(JSON.stringify(ids)) as Row;
      return Number(row.n);
    });
  }

  /** Active jobs whose last sign of life is older than `before` (ms). */
  silentSince(before: number, limit: number): Promise<JobRecord[]> {
    return this.#read(() => {
      const rows = this.#q(
        `SELECT * FROM jobs WHERE state IN ${ACTIVE_SQL} AND heartbeat_at < ?
         ORDER BY heartbeat_at LIMIT ?`,
      ).all(before, limit) as Row[];
      return rows.map(toJob);
    });
  }

  /** Waiting jobs whose MaxWaitingTime ended before `now` (ms). */
  overdue(now: number, limit: number): Promise<JobRecord[]> {
    return this.#read(() => {
      const rows = this.#q(
        `SELECT * FROM jobs WHERE state = 'WAITING' AND expires_at IS NOT NULL
           AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      ).all(now, limit) as Row[];
      return rows.map(toJob);
    });
  }

  /** Sets or (undefined) clears a user's running-job quota. */
  setUserQuota(owner: string, quota: number | undefined): Promise<void> {
    return this.#write(() => {
      this.#q(
        `INSERT INTO owners (owner, quota) VALUES (?, ?)
         ON CONFLICT (owner) DO UPDATE SET quota = excluded.quota`,
      ).run(owner, quota === undefined ? null : Math.max(0, Math.floor(quota)));
    });
  }

  /** Adds or replaces one catalogue entry (LFN → blob, size, SHA-256). */
  putFile(file: FileRecord): Promise<void> {
    return this.#write(() => {
      this.#q(
        `INSERT INTO files (lfn, owner, job_id, size, sha256, created_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (lfn) DO UPDATE SET owner = excluded.owner,
         job_id = excluded.job_id, size = excluded.size,
         sha256 = excluded.sha256, created_at = excluded.created_at`,
      ).run(
        file.lfn,
        file.owner,
        file.jobId === undefined ? null : Number(file.jobId),
        file.size,
        file.sha256,
        file.createdAt,
      );
    });
  }

  /** The catalogue entry of `lfn`, if any. */
  getFile(lfn: string): Promise<FileRecord | undefined> {
    return this.#read(() => {
      const r = this.#q("SELECT * FROM files WHERE lfn = ?").get(lfn) as
        | Row
        | undefined;
      return r ? toFile(r) : undefined;
    });
  }

  /** Catalogue entries whose LFN starts with `prefix`, sorted, one page. */
  listFiles(
    prefix: string,
    page: { after?: string; limit?: number } = {},
  ): Promise<FileRecord[]> {
    return this.#read(() => {
      const rows = this.#q(
        `SELECT * FROM files WHERE substr(lfn, 1, ?) = ? AND lfn > ?
         ORDER BY lfn LIMIT ?`,
      ).all(prefix.length, prefix, page.after ?? "", page.limit ?? -1) as Row[];
      return rows.map(toFile);
    });
  }

  /** Removes a file's name; false when there was none. */
  deleteFile(lfn: string): Promise<boolean> {
    return this.#write(() =>
      Number(this.#q("DELETE FROM files WHERE lfn = ?").run(lfn).changes) === 1
    );
  }

  /**
   * Stops the checkpointer, waits for pending writes and closes the database.
   */
  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    this.#checkpointer = undefined;
    await this.#syncing?.catch(() => {});
    await this.#nextSync?.catch(() => {});
    this.#walFile?.close();
    this.#walFile = undefined;
    this.#db.close();
  }

  /**
   * Runs `fn` on the database: in a write transaction (durable when it
   * resolves) when `write`, else as a read. For modules that keep their
   * own tables next to the queue (masterjobs: `./masterjobs.ts`).
   */
  withDatabase<T>(write: boolean, fn: (db: DatabaseSync) => T): Promise<T> {
    return write
      ? this.#write(() => fn(this.#db))
      : this.#read(() => fn(this.#db));
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
    return this.#write(() => {
      const now = Date.now();
      const ids = jobs.map((j) => String(this.#insert(j, actor, now)));
      return link(this.#db, ids);
    });
  }

  /** Resolves once every write so far is durable (for a clean shutdown). */
  flush(): Promise<void> {
    return this.#durable();
  }
}

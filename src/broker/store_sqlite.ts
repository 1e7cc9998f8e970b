/**
 * SQLite task queue (`node:sqlite`), the embedded default.
 *
 * WAL journal with `synchronous=FULL`: a job ID handed back to a client is
 * on disk, and a crash never hands one job to two agents (the claim is a
 * compare-and-set inside one write transaction).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { JobState } from "./states.ts";
import type {
  FileRecord,
  JobFilter,
  JobRecord,
  JobStore,
  NewJob,
  SlotFilter,
  TraceEntry,
  Usage,
} from "./store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  jdl TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  cpu_cores INTEGER NOT NULL DEFAULT 1,
  ttl INTEGER NOT NULL,
  memory INTEGER NOT NULL DEFAULT 0,
  disk INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  agent TEXT,
  agent_subject TEXT,
  token_serial TEXT,
  resubmissions INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  kill_reason INTEGER,
  heartbeat_at INTEGER,
  usage TEXT
);
CREATE INDEX IF NOT EXISTS jobs_waiting
  ON jobs (state, priority DESC, id) WHERE state = 'WAITING';
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, id);
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

type Row = Record<string, unknown>;

function toJob(r: Row): JobRecord {
  return {
    id: String(r.id),
    owner: r.owner as string,
    state: r.state as JobState,
    jdl: r.jdl as string,
    priority: Number(r.priority),
    cpuCores: Number(r.cpu_cores),
    ttl: Number(r.ttl),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    agent: (r.agent as string | null) ?? undefined,
    agentSubject: (r.agent_subject as string | null) ?? undefined,
    tokenSerial: (r.token_serial as string | null) ?? undefined,
    resubmissions: Number(r.resubmissions),
    exitCode: r.exit_code === null ? undefined : Number(r.exit_code),
    killReason: r.kill_reason === null ? undefined : Number(r.kill_reason),
    heartbeatAt: r.heartbeat_at === null ? undefined : Number(r.heartbeat_at),
    usage: r.usage ? JSON.parse(r.usage as string) as Usage : undefined,
  };
}

function toFile(r: Row): FileRecord {
  return {
    lfn: r.lfn as string,
    owner: r.owner as string,
    jobId: r.job_id === null ? undefined : String(r.job_id),
    size: Number(r.size),
    sha256: r.sha256 as string,
    createdAt: Number(r.created_at),
  };
}

/** Options of {@link SqliteJobStore}. */
export interface SqliteStoreOptions {
  /** `synchronous` pragma; FULL survives power loss. @default "FULL" */
  synchronous?: "FULL" | "NORMAL";
  /** How many candidates one claim looks at. @default 64 */
  claimBatch?: number;
}

/** The SQLite task queue. */
export class SqliteJobStore implements JobStore {
  #db: DatabaseSync;
  #stmts = new Map<string, StatementSync>();
  #claimBatch: number;

  /** Opens (and creates) the database file at `path`. */
  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode=WAL");
    this.#db.exec(`PRAGMA synchronous=${opts.synchronous ?? "FULL"}`);
    this.#db.exec("PRAGMA busy_timeout=5000");
    this.#db.exec(SCHEMA);
    this.#claimBatch = opts.claimBatch ?? 64;
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
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #trace(id: number | string, state: JobState, actor: string, reason: string) {
    this.#q(
      "INSERT INTO trace (job_id, at, state, actor, reason) VALUES (?, ?, ?, ?, ?)",
    ).run(Number(id), Date.now(), state, actor, reason);
  }

  /** @inheritdoc */
  submit(job: NewJob, actor: string): Promise<string> {
    const id = this.#tx(() => {
      const now = Date.now();
      const r = this.#q(
        `INSERT INTO jobs (owner, state, jdl, priority, cpu_cores, ttl, memory, disk, created_at, updated_at)
         VALUES (?, 'WAITING', ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        job.owner,
        job.jdl,
        job.priority,
        job.cpuCores,
        job.ttl,
        job.memory,
        job.disk,
        now,
        now,
      );
      const id = Number(r.lastInsertRowid);
      this.#trace(id, "WAITING", actor, "submitted");
      return id;
    });
    return Promise.resolve(String(id));
  }

  /** @inheritdoc */
  get(id: string): Promise<JobRecord | undefined> {
    const r = this.#q("SELECT * FROM jobs WHERE id = ?").get(Number(id)) as
      | Row
      | undefined;
    return Promise.resolve(r ? toJob(r) : undefined);
  }

  /** @inheritdoc */
  list(filter: JobFilter): Promise<JobRecord[]> {
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
    const sql = `SELECT * FROM jobs ${
      where.length ? "WHERE " + where.join(" AND ") : ""
    } ORDER BY id DESC LIMIT ?`;
    args.push(filter.limit ?? 1000);
    const rows = this.#db.prepare(sql).all(...args) as Row[];
    return Promise.resolve(rows.map(toJob));
  }

  /** @inheritdoc */
  trace(id: string): Promise<TraceEntry[]> {
    const rows = this.#q(
      "SELECT at, state, actor, reason FROM trace WHERE job_id = ? ORDER BY seq",
    ).all(Number(id)) as Row[];
    return Promise.resolve(rows.map((r) => ({
      at: Number(r.at),
      state: r.state as JobState,
      actor: r.actor as string,
      reason: r.reason as string,
    })));
  }

  /** @inheritdoc */
  claim(
    slot: SlotFilter,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
  ): Promise<JobRecord | undefined> {
    const job = this.#tx(() => {
      const rows = this.#q(
        `SELECT * FROM jobs WHERE state = 'WAITING'
           AND cpu_cores <= ? AND ttl <= ?
           AND (? = 0 OR memory <= ?) AND (? = 0 OR disk <= ?)
         ORDER BY priority DESC, id LIMIT ?`,
      ).all(
        slot.cpuCores,
        slot.ttl,
        slot.memory,
        slot.memory,
        slot.disk,
        slot.disk,
        this.#claimBatch,
      ) as Row[];
      for (const r of rows) {
        const candidate = toJob(r);
        if (!accept(candidate)) continue;
        const now = Date.now();
        this.#q(
          `UPDATE jobs SET state = 'ASSIGNED', agent = ?, agent_subject = ?,
             updated_at = ?, heartbeat_at = ? WHERE id = ? AND state = 'WAITING'`,
        ).run(agent.fingerprint, agent.subject, now, now, Number(candidate.id));
        this.#trace(
          candidate.id,
          "ASSIGNED",
          `JOB_AGENT:${agent.subject}`,
          "matched",
        );
        return {
          ...candidate,
          state: "ASSIGNED" as const,
          agent: agent.fingerprint,
          agentSubject: agent.subject,
          updatedAt: now,
          heartbeatAt: now,
        };
      }
      return undefined;
    });
    return Promise.resolve(job);
  }

  /** @inheritdoc */
  setTokenSerial(id: string, serial: string): Promise<void> {
    this.#q("UPDATE jobs SET token_serial = ? WHERE id = ?").run(
      serial,
      Number(id),
    );
    return Promise.resolve();
  }

  /** @inheritdoc */
  transition(
    id: string,
    from: JobState,
    to: JobState,
    entry: { actor: string; reason: string },
    extra: { exitCode?: number; killReason?: number; usage?: Usage } = {},
  ): Promise<boolean> {
    const ok = this.#tx(() => {
      const now = Date.now();
      const resubmit = to === "WAITING";
      const r = this.#q(
        `UPDATE jobs SET state = ?, updated_at = ?,
           exit_code = COALESCE(?, exit_code),
           kill_reason = COALESCE(?, kill_reason),
           usage = COALESCE(?, usage),
           resubmissions = resubmissions + ?,
           agent = CASE WHEN ? THEN NULL ELSE agent END,
           agent_subject = CASE WHEN ? THEN NULL ELSE agent_subject END,
           token_serial = CASE WHEN ? THEN NULL ELSE token_serial END
         WHERE id = ? AND state = ?`,
      ).run(
        to,
        now,
        extra.exitCode ?? null,
        extra.killReason ?? null,
        extra.usage ? JSON.stringify(extra.usage) : null,
        resubmit ? 1 : 0,
        resubmit ? 1 : 0,
        resubmit ? 1 : 0,
        resubmit ? 1 : 0,
        Number(id),
        from,
      );
      if (Number(r.changes) !== 1) return false;
      this.#trace(id, to, entry.actor, entry.reason);
      return true;
    });
    return Promise.resolve(ok);
  }

  /** @inheritdoc */
  heartbeat(id: string, usage: Usage | undefined): Promise<void> {
    this.#q(
      "UPDATE jobs SET heartbeat_at = ?, usage = COALESCE(?, usage) WHERE id = ?",
    ).run(Date.now(), usage ? JSON.stringify(usage) : null, Number(id));
    return Promise.resolve();
  }

  /** @inheritdoc */
  putFile(file: FileRecord): Promise<void> {
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
    return Promise.resolve();
  }

  /** @inheritdoc */
  getFile(lfn: string): Promise<FileRecord | undefined> {
    const r = this.#q("SELECT * FROM files WHERE lfn = ?").get(lfn) as
      | Row
      | undefined;
    return Promise.resolve(r ? toFile(r) : undefined);
  }

  /** @inheritdoc */
  listFiles(prefix: string): Promise<FileRecord[]> {
    const rows = this.#q(
      "SELECT * FROM files WHERE substr(lfn, 1, ?) = ? ORDER BY lfn",
    ).all(prefix.length, prefix) as Row[];
    return Promise.resolve(rows.map(toFile));
  }

  /** @inheritdoc */
  close(): void {
    this.#db.close();
  }
}

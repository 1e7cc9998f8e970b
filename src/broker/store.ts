/**
 * The task queue interface. The embedded default is SQLite
 * ({@link ./store_sqlite.ts}); a PostgreSQL store implements the same.
 *
 * @module
 */
import type { MatchKeys } from "../jdl/mod.ts";
import type { JobState } from "../protocol/job_state.ts";
import type { Usage } from "../protocol/usage.ts";

/** One job row. */
export interface JobRecord {
  /** Job ID (decimal string). */
  id: string;
  /** Submitting user. */
  owner: string;
  /** Current state. */
  state: JobState;
  /** The JDL as submitted (canonical form). */
  jdl: string;
  /** Scheduling priority (higher first). */
  priority: number;
  /** Cores asked for (with what `Requirements` adds). */
  cpuCores: number;
  /** TTL in seconds (with what `Requirements` adds). */
  ttl: number;
  /** Memory asked for, bytes (0 = unspecified). */
  memory: number;
  /** Disk asked for, bytes (0 = unspecified). */
  disk: number;
  /** Submission time, ms since epoch. */
  createdAt: number;
  /** Last state change, ms since epoch. */
  updatedAt: number;
  /** While WAITING: when it expires, ms since epoch (absent = never). */
  expiresAt?: number;
  /** Fingerprint of the agent certificate that matched it. */
  agent?: string;
  /** Subject of that agent. */
  agentSubject?: string;
  /** Serial of the job token currently alive for it. */
  tokenSerial?: string;
  /** How many times it went back to WAITING. */
  resubmissions: number;
  /** Payload exit code, once known. */
  exitCode?: number;
  /** JAliEn kill reason code, if it was killed. */
  killReason?: number;
  /** Last heartbeat (or state report), ms since epoch. */
  heartbeatAt?: number;
  /** Last usage reported. */
  usage?: Usage;
  /** Reason of the last transition (what the trace says last). */
  message?: string;
}

/** One trace entry: every transition lands here with a reason. */
export interface TraceEntry {
  /** Time, ms since epoch. */
  at: number;
  /** State entered. */
  state: JobState;
  /** Who did it, e.g. `USER:jdoe`, `JOB_AGENT:site-a`, `broker`. */
  actor: string;
  /** Why. */
  reason: string;
}

/** What a submission stores besides the JDL text. */
export interface NewJob {
  /** Submitting user. */
  owner: string;
  /** Canonical JDL text. */
  jdl: string;
  /** Scheduling priority (higher first). */
  priority: number;
  /** What the job needs from a site (`matchKeys` of the JDL). */
  keys: MatchKeys;
  /**
   * Its match class (`matchClassKey` of the JDL): jobs with equal keys
   * match exactly the same sites.
   */
  matchClass: string;
  /** Seconds it may wait before it expires; absent = forever. */
  maxWaitingSeconds?: number;
  /**
   * The client's idempotency key: a submission repeating a key of the
   * same owner returns the job the first one created.
   */
  idempotencyKey?: string;
}

/**
 * The slot an agent offers, as far as the database filters on it. Numbers
 * are whole (round up before passing); strings are compared ignoring case.
 */
export interface SlotOffer {
  /** Cores free. */
  cpuCores: number;
  /** Seconds left. */
  ttl: number;
  /** Memory, bytes (0 = unknown: not filtered on). */
  memory: number;
  /** Disk, bytes (0 = unknown: not filtered on). */
  disk: number;
  /** Site name, if any. */
  site?: string;
  /** CE name, if any. */
  ce?: string;
  /** Packages installed. @default [] */
  packages?: string[];
}

/** Options of {@link JobStore.claim}. */
export interface ClaimOptions {
  /**
   * Running jobs (ASSIGNED to SAVING) a user may have; users at their
   * quota are skipped. A per-user quota set with
   * {@link JobStore.setUserQuota} wins. @default Infinity
   */
  userQuota?: number;
  /**
   * The agent's request key: a claim repeating a key of the same agent
   * certificate returns the job the first one claimed while it is still
   * ASSIGNED to it (else nothing), so a lost answer strands no job.
   */
  requestKey?: string;
}

/** What {@link JobStore.transition} stores with the move. */
export interface TransitionExtra {
  /** Payload exit code. */
  exitCode?: number;
  /** Kill reason code. */
  killReason?: number;
  /** Final usage. */
  usage?: Usage;
  /**
   * After entering the target state, go on to WAITING in the same
   * transaction while the job has been resubmitted fewer times than this
   * (automatic resubmission; traced as such by `broker`).
   */
  requeueLimit?: number;
}

/** One registered file. */
export interface FileRecord {
  /** Logical file name. */
  lfn: string;
  /** Owning user. */
  owner: string;
  /** Job that wrote it, if any. */
  jobId?: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256, hex. */
  sha256: string;
  /** Registration time, ms since epoch. */
  createdAt: number;
}

/** Filters for listing jobs. */
export interface JobFilter {
  /** Only this owner. */
  owner?: string;
  /** Only these states. */
  states?: JobState[];
  /** At most this many, newest first. @default 1000 */
  limit?: number;
  /** Only jobs with a smaller ID (the cursor of the next page). */
  before?: number;
}

/** The task queue. */
export interface JobStore {
  /** Inserts a WAITING job with its first trace entry; returns its ID. */
  submit(job: NewJob, actor: string): Promise<string>;
  /** Inserts many jobs in one transaction; returns their IDs in order. */
  submitMany(jobs: NewJob[], actor: string): Promise<string[]>;
  /** One job, or undefined. */
  get(id: string): Promise<JobRecord | undefined>;
  /** Jobs, newest first. */
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** The job's trace, oldest first. */
  trace(id: string): Promise<TraceEntry[]>;
  /**
   * Picks the best waiting job for the slot and atomically moves it to
   * ASSIGNED for `agent`; two agents never get the same job.
   *
   * Fair share: among the waiting jobs the slot admits, the user with the
   * fewest running jobs goes first, ties to the one served least recently
   * (round robin); within the user, higher priority first, then older. `accept` is asked only for residual classes
   * (requirements the keys cannot express) and its verdict stands for the
   * candidate's whole class during this claim. A candidate past its
   * waiting time becomes EXPIRED instead.
   */
  claim(
    slot: SlotOffer,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
    opts?: ClaimOptions,
  ): Promise<JobRecord | undefined>;
  /** Records the job token serial issued for the current attempt. */
  setTokenSerial(id: string, serial: string): Promise<void>;
  /**
   * Moves `id` from `from` to `to` (compare-and-set) and traces it; fields
   * in `extra` are stored with it. Returns the state the job ended in
   * (`to`, or WAITING after a requeue), or undefined if the job was not in
   * `from` any more. Entering WAITING clears agent and job token (a new
   * attempt gets a fresh token) and counts a resubmission.
   */
  transition(
    id: string,
    from: JobState,
    to: JobState,
    entry: { actor: string; reason: string },
    extra?: TransitionExtra,
  ): Promise<JobState | undefined>;
  /**
   * Adds a trace entry in the job's current state without moving it or
   * changing its message (e.g. the wrapper's permission audit). Optional:
   * without it, callers fall back to a same-state {@link transition}.
   */
  note?(id: string, entry: { actor: string; reason: string }): Promise<void>;
  /** Stores a heartbeat (time + usage) of an active job. */
  heartbeat(id: string, usage: Usage | undefined): Promise<void>;
  /** Active jobs whose last heartbeat is older than `before` (ms). */
  /**
   * How many WAITING jobs a slot like this one could be given: the sum
   * over the match classes it admits by cores, TTL, memory, disk, site, CE
   * and packages. Residual `Requirements` are not evaluated, so this is an
   * upper bound (what a pilot factory needs to decide how many to submit).
   */
  countWaiting(slot: SlotOffer): Promise<number>;
  /**
   * Stores the usage summary an agent sends for a job whose wrapper has
   * already ended it (the last heartbeat may have come too late).
   */
  setUsage(id: string, usage: Usage): Promise<void>;
  /** Job counts by state and owner (for metrics). */
  countJobs(): Promise<{ state: JobState; owner: string; n: number }[]>;
  silentSince(before: number, limit: number): Promise<JobRecord[]>;
  /** Waiting jobs whose waiting time ran out at `now` (ms). */
  overdue(now: number, limit: number): Promise<JobRecord[]>;
  /** Sets (or with undefined, clears) a user's running-job quota. */
  setUserQuota(owner: string, quota: number | undefined): Promise<void>;
  /** Registers (or replaces) a file in the catalogue. */
  putFile(file: FileRecord): Promise<void>;
  /** Looks a file up. */
  getFile(lfn: string): Promise<FileRecord | undefined>;
  /**
   * Files whose LFN starts with `prefix`, in LFN order; with `page`, at
   * most `limit` of them after the LFN `after` (the cursor).
   */
  listFiles(
    prefix: string,
    page?: { after?: string; limit?: number },
  ): Promise<FileRecord[]>;
  /** Removes a file's name; false when there was none. */
  deleteFile(lfn: string): Promise<boolean>;
  /**
   * Optional: runs `fn` (one request's work) so that its writes share one
   * durable sync, awaited before it resolves; a store without it makes
   * each write durable on its own (see group_commit.ts).
   */
  withOneSync?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Whether this process may run the timed sweeps now. A store shared by
   * several broker replicas lets exactly one lead at a time (PostgreSQL:
   * an advisory lock); absent means this process is the only one.
   */
  sweeperLeader?(): Promise<boolean>;
  /** Waits for pending writes, then releases the database. */
  close(): Promise<void>;
}

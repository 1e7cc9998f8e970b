/**
 * The task queue interface. The embedded default is SQLite
 * ({@link ./store_sqlite.ts}); a PostgreSQL store implements the same.
 *
 * @module
 */
import type { JobState } from "./states.ts";

/** Resource usage as reported by heartbeats and kept for accounting. */
export interface Usage {
  /** CPU seconds of the whole process tree. */
  cpuSeconds: number;
  /** Resident set size in bytes (PSS where available). */
  rssBytes: number;
  /** Maximum RSS/PSS seen, bytes. */
  maxRssBytes?: number;
  /** Wall-clock seconds since the wrapper started. */
  wallSeconds: number;
  /** Sandbox size in bytes. */
  diskBytes: number;
}

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
  /** Cores asked for. */
  cpuCores: number;
  /** TTL in seconds. */
  ttl: number;
  /** Submission time, ms since epoch. */
  createdAt: number;
  /** Last state change, ms since epoch. */
  updatedAt: number;
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
  /** Last heartbeat, ms since epoch. */
  heartbeatAt?: number;
  /** Last usage reported. */
  usage?: Usage;
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
  /** Scheduling priority. */
  priority: number;
  /** Cores asked for. */
  cpuCores: number;
  /** TTL, seconds. */
  ttl: number;
  /** Memory asked for, bytes (0 = unspecified). */
  memory: number;
  /** Disk asked for, bytes (0 = unspecified). */
  disk: number;
}

/** The slot an agent offers, as far as the database can filter on it. */
export interface SlotFilter {
  /** Cores free. */
  cpuCores: number;
  /** Seconds left. */
  ttl: number;
  /** Memory, bytes (0 = unknown: no filter). */
  memory: number;
  /** Disk, bytes (0 = unknown: no filter). */
  disk: number;
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
}

/** The task queue. */
export interface JobStore {
  /** Inserts a WAITING job with its first trace entry; returns its ID. */
  submit(job: NewJob, actor: string): Promise<string>;
  /** One job, or undefined. */
  get(id: string): Promise<JobRecord | undefined>;
  /** Jobs, newest first. */
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** The job's trace, oldest first. */
  trace(id: string): Promise<TraceEntry[]>;
  /**
   * Waiting jobs that fit the slot, best first; `accept` decides the rest
   * (requirements). The first accepted one is atomically moved to ASSIGNED
   * for `agent` and returned; two agents never get the same job.
   */
  claim(
    slot: SlotFilter,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
  ): Promise<JobRecord | undefined>;
  /** Records the job token serial issued for the current attempt. */
  setTokenSerial(id: string, serial: string): Promise<void>;
  /**
   * Moves `id` from `from` to `to` (compare-and-set) and traces it; fields
   * in `extra` are stored with it. Returns false if the job was not in
   * `from` any more.
   */
  transition(
    id: string,
    from: JobState,
    to: JobState,
    entry: { actor: string; reason: string },
    extra?: { exitCode?: number; killReason?: number; usage?: Usage },
  ): Promise<boolean>;
  /** Stores a heartbeat (time + usage). */
  heartbeat(id: string, usage: Usage | undefined): Promise<void>;
  /** Registers (or replaces) a file in the catalogue. */
  putFile(file: FileRecord): Promise<void>;
  /** Looks a file up. */
  getFile(lfn: string): Promise<FileRecord | undefined>;
  /** Files whose LFN starts with `prefix`. */
  listFiles(prefix: string): Promise<FileRecord[]>;
  /** Releases the database. */
  close(): void;
}

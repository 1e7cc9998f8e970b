/**
 * Payloads of the pipe's JSON control frames (DESIGN §6), shared by the
 * agent and the wrapper. Each is a JSON object; decode with `decodeJson`.
 *
 * @module
 */

/**
 * `Hello`, wrapper → agent: the wrapper's first frame, which the agent
 * waits for with a timeout before sending `Start`.
 */
export interface HelloMessage {
  /** The wrapper's `PROTOCOL_VERSION`; the agent refuses a mismatch. */
  version: number;
  /** The wrapper's process ID (inside its container's pid namespace). */
  pid: number;
  /** Program name and version, e.g. `"splitpilot-wrapper 0.1.0"`. */
  program: string;
}

/** The job token handed to the wrapper, as PEM text. */
export interface JobTokenPem {
  /** The job token certificate (role JOB, this job's ID in the DN). */
  certPem: string;
  /** Its private key, PKCS#8 PEM. */
  keyPem: string;
  /** The CA certificate that signs the broker's and the token's certs. */
  caPem: string;
}

/** `Start`, agent → wrapper: everything the wrapper needs to run one job. */
export interface StartMessage {
  /** The job's ID at the broker. */
  jobId: string;
  /** The job description (ALICE-style JDL text). */
  jdl: string;
  /** The job's owner. */
  user: string;
  /** The job token the wrapper talks to the broker with. */
  token: JobTokenPem;
  /** Broker base URL, `https://host:port`. */
  broker: string;
  /** Time to live of the job, in seconds. */
  ttl: number;
  /** How many times the job was resubmitted before this run. */
  resubmission: number;
  /** The agent's site map (CE, site, TTL left, cores, memory, …). */
  siteMap: Record<string, unknown>;
  /** Extra environment for the payload. */
  env: Record<string, string>;
  /** Seconds between heartbeats to the broker; the wrapper's default if unset. */
  heartbeatSeconds?: number;
}

/**
 * `Cancel`, agent → wrapper: stop the job. The wrapper should end the
 * payload and report `End` within `graceMs`, after which the agent kills
 * the process tree.
 */
export interface CancelMessage {
  /** Why, as a {@linkcode KillReason} code. */
  reason: number;
  /** Human-readable explanation for the job's trace. */
  message: string;
  /** Milliseconds the wrapper has before SIGTERM/SIGKILL. */
  graceMs: number;
}

/** `Status`, wrapper → agent: the job moved to a new state. */
export interface StatusMessage {
  /** JAliEn job state, e.g. `"RUNNING"`, `"SAVING"` (DESIGN §4). */
  state: string;
  /** Detail for the trace. */
  message?: string;
  /** The payload's exit code, once known. */
  exitCode?: number;
}

/** `Usage`, wrapper → agent: resources used so far by the job. */
export interface UsageMessage {
  /** User + system CPU time of the payload tree, in seconds. */
  cpuSeconds: number;
  /** Resident memory of the payload tree, in bytes. */
  rssBytes: number;
  /** Wall time since the payload started, in seconds. */
  wallSeconds: number;
  /** Size of the sandbox, in bytes. */
  diskBytes: number;
}

/** `Log`, wrapper → agent: the latest lines of output. */
export interface LogMessage {
  /** Which output: the payload's stdout/stderr or the wrapper's own log. */
  stream: "stdout" | "stderr" | "wrapper";
  /** Lines without their trailing newline. */
  lines: string[];
}

/** `End`, wrapper → agent: the job's final word; the wrapper exits after. */
export interface EndMessage {
  /** Final JAliEn job state, e.g. `"DONE"`, `"ERROR_E"`. */
  state: string;
  /** The payload's exit code, or the wrapper's if the payload never ran. */
  exitCode: number;
  /** Detail for the trace. */
  message?: string;
  /** The {@linkcode KillReason} if the job was cancelled or killed. */
  killReason?: number;
}

/**
 * Why a job was killed: JAliEn's codes, plus one of ours.
 *
 * - `TTL` 20: ran past its time to live.
 * - `USER` 30: killed by its owner.
 * - `MEMORY_PREEMPTION` 40: memory reclaimed for other jobs in the slot.
 * - `LOW_CPU` 50: CPU efficiency below the limit.
 * - `CORE_FILE` 60: the payload dumped core.
 * - `DISK` 70: the sandbox outgrew its disk limit.
 * - `MEMORY` 80: over its memory limit.
 * - `PREEMPTED` 90 (splitpilot's, not JAliEn's): the batch slot is being
 *   reclaimed, so the pilot stops the job through no fault of the job's; it
 *   is resubmitted rather than counted as failed.
 */
export const KillReason = {
  TTL: 20,
  USER: 30,
  MEMORY_PREEMPTION: 40,
  LOW_CPU: 50,
  CORE_FILE: 60,
  DISK: 70,
  MEMORY: 80,
  PREEMPTED: 90,
} as const;

/** One of the {@linkcode KillReason} codes. */
export type KillReason = typeof KillReason[keyof typeof KillReason];

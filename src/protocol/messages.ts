/**
 * Payloads of the pipe's JSON frames (docs/ARCHITECTURE.md, "The pipe"),
 * shared by the
 * agent and the wrapper. Each is a JSON object; decode with `decodeJson`.
 *
 * @module
 */
import type { TokenPem } from "./token_pem.ts";

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

/** `Start`, agent → wrapper: everything the wrapper needs to run one job. */
export interface StartMessage {
  /** The job's ID at the broker. */
  jobId: string;
  /** The job description (ALICE-style JDL text). */
  jdl: string;
  /** The job's owner. */
  user: string;
  /**
   * The job token, only when the wrapper talks to the broker itself
   * (`relay` false). Relayed wrappers never get it: the agent makes their
   * calls with it (docs/ARCHITECTURE.md, "The relay").
   */
  token?: TokenPem;
  /** Broker base URL, `https://host:port`. */
  broker: string;
  /** Broker calls go over the pipe, relayed by the agent. @default false */
  relay?: boolean;
  /** How many times the job was resubmitted before this run. */
  resubmission: number;
  /** The agent's site map (CE, site, TTL left, cores, memory, …). */
  siteMap: Record<string, unknown>;
  /** Extra environment for the payload. */
  env: Record<string, string>;
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
  /** JAliEn job state, e.g. `"RUNNING"`, `"SAVING"` (see `job_state.ts`). */
  state: string;
  /** Detail for the trace. */
  message?: string;
  /** The payload's exit code, once known. */
  exitCode?: number;
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

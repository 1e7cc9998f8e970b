/**
 * How a job ended, from the agent's point of view: the wrapper's own
 * `end` report when it finished by itself; the kill's outcome when the
 * agent stopped it (WAITING for a preemption, handed back for
 * resubmission); else the wrapper died, and the stage it died in names
 * the error ({@link deathState}).
 *
 * @module
 */
import type { CancelMessage, EndMessage } from "../protocol/mod.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import type { Usage } from "../protocol/usage.ts";
import type { AuditVerdict } from "../protocol/audit_verdict.ts";

/** Maps the stage a wrapper died in to the error state (JAliEn's). */
export function deathState(stage: string): string {
  if (stage === "RUNNING") return "ERROR_E";
  if (stage === "SAVING") return "ERROR_SV";
  return "ERROR_A";
}

/** What happened to the job, from the agent's point of view. */
export interface WrapperOutcome {
  /** Final state (WAITING: handed back for resubmission). */
  state: string;
  /** Exit code. */
  exitCode: number;
  /** Detail. */
  message?: string;
  /** Kill reason, if killed. */
  killReason?: number;
  /** Last stage the wrapper reported. */
  stage: string;
  /** Usage summary (what the watchdog saw). */
  usage?: Usage;
  /** The permission audit of the wrapper process (absent: not known). */
  audit?: AuditVerdict;
  /** Wrapper start and end, ms since epoch. */
  startedAt: number;
  /** See `startedAt`. */
  endedAt: number;
}

/** What the agent saw of a wrapper that is over. */
export interface WrapperEnd {
  /** The wrapper's `end` frame, if it sent one. */
  end?: EndMessage;
  /** The agent's cancel, if it stopped the job. */
  cancelled?: CancelMessage;
  /** The wrapper process's exit. */
  status: Deno.CommandStatus;
  /** Why the conversation broke, if the wrapper broke the protocol. */
  protocolError?: string;
  /** The last stage the wrapper reported. */
  stage: string;
  /** The end of the wrapper's stderr. */
  errTail: string;
  /** Usage summary. */
  usage: Usage;
  /** Wrapper start, ms since epoch. */
  startedAt: number;
  /** Wrapper end, ms since epoch. */
  endedAt: number;
}

/** The shell's exit code for a process status (128 + signal for kills). */
export function exitCodeOf(status: Deno.CommandStatus): number {
  if (status.signal === "SIGKILL") return 137;
  if (status.signal === "SIGTERM") return 143;
  return status.code;
}

/** `: <last stderr lines>` of a wrapper that died, or nothing. */
export function lastLines(text: string): string {
  // Runtimes colour their messages (singularity always does): keep the words.
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
  const lines = plain.trim().split("\n").filter((l) =>
    l && !l.startsWith("[wrapper")
  ).slice(-2);
  return lines.length > 0 ? `: ${lines.join(" | ")}` : "";
}

/**
 * The outcome of a wrapper that is over; `died` when the wrapper left
 * without a word the agent can take (the report then names a death).
 *
 * @example
 * ```ts
 * const { outcome, died } = decideOutcome({
 *   status: { success: false, code: 1, signal: null },
 *   stage: "RUNNING", errTail: "", startedAt: 0, endedAt: 1000,
 *   usage: { cpuSeconds: 0, rssBytes: 0, wallSeconds: 1, diskBytes: 0 },
 * });
 * // outcome.state === "ERROR_E", died === true
 * ```
 */
export function decideOutcome(
  w: WrapperEnd,
): { outcome: WrapperOutcome; died: boolean } {
  const { end, cancelled, status, stage, usage, startedAt, endedAt } = w;
  if (end && !(cancelled && end.killReason !== undefined)) {
    // The wrapper finished by itself (perhaps before it saw the cancel).
    return {
      outcome: { ...end, stage, usage, startedAt, endedAt },
      died: false,
    };
  }
  if (cancelled) {
    const preempted = cancelled.reason === KillReason.PREEMPTED;
    return {
      outcome: {
        state: preempted ? "WAITING" : "ERROR_E",
        exitCode: end?.exitCode ?? exitCodeOf(status),
        message: cancelled.message,
        killReason: preempted ? undefined : cancelled.reason,
        stage,
        usage,
        startedAt,
        endedAt,
      },
      died: false,
    };
  }
  return {
    outcome: {
      state: deathState(stage),
      exitCode: exitCodeOf(status),
      message: w.protocolError
        ? `wrapper broke the protocol in stage ${stage}: ${w.protocolError}`
        : `wrapper died in stage ${stage} without a final report (${
          status.signal ? `signal ${status.signal}` : `exit ${status.code}`
        })${lastLines(w.errTail)}`,
      stage,
      usage,
      startedAt,
      endedAt,
    },
    died: true,
  };
}

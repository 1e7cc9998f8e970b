/**
 * The verdict of a chaos run (`deno task chaos`), computed from what the
 * broker says at the end (jobs, traces, outputs) and what the driver did
 * (its kills, the processes and sandboxes it found). Pure, so each count
 * can be tested on hand-made traces.
 *
 * @module
 */
import { FINAL_STATES } from "../src/protocol/job_state.ts";
import { isAuditNote } from "../src/protocol/audit_verdict.ts";

/** A trace entry as the API shows it. */
export interface ChaosTraceEntry {
  /** State entered. */
  state: string;
  /** ISO time. */
  at: string;
  /** Why. */
  reason: string;
  /** Who. */
  actor?: string;
}

/** What the driver knows about one acknowledged job at the end. */
export interface ChaosJob {
  /** Job ID (acknowledged by a 201). */
  id: string;
  /** Final view, or undefined when the broker no longer knows the job. */
  state?: string;
  /** Resubmission count = the attempt that reached the final state. */
  attempt?: number;
  /** Trace. */
  trace: ChaosTraceEntry[];
  /** The identity the DONE job's output file carries (`<id> <attempt>`). */
  output?: string;
}

/** One kill the driver made. */
export interface ChaosKill {
  /** What was killed. */
  target: "agent" | "wrapper" | "payload" | "broker";
  /** When, ms since epoch. */
  at: number;
  /** When the broker was back (broker kills), ms since epoch. */
  until?: number;
}

/** Every count the chaos suite prints; all must be 0. */
export interface ChaosCounts {
  /** Acknowledged jobs the broker no longer knows. */
  "acknowledged jobs lost": number;
  /** Jobs not in a final state at the end. */
  "jobs not final": number;
  /** Jobs whose trace has DONE more than once. */
  "jobs DONE twice": number;
  /** Successful payloads run again with no agent or broker death to explain it. */
  "successful payloads re-run unexplained": number;
  /** DONE jobs whose output is not from their final attempt. */
  "DONE jobs with outputs not from their final attempt": number;
  /** Processes of the run still alive after everything stopped. */
  "orphan processes": number;
  /** Sandboxes left in the agents' work roots. */
  "leftover sandboxes": number;
}

const FINAL: ReadonlySet<string> = FINAL_STATES;

/**
 * Whether a job's successful payload (an attempt that reached SAVING)
 * was run again for a reason the run explains: the attempt after it went
 * ZOMBIE (its agent died) or its wrapper died, or the broker was down
 * between that success and the next ASSIGNED.
 */
export function unexplainedReruns(
  trace: ChaosTraceEntry[],
  kills: ChaosKill[],
): number {
  let n = 0;
  let successAt: number | undefined;
  let explained = false;
  for (const e of trace) {
    const at = Date.parse(e.at);
    if (e.state === "SAVING") {
      if (successAt !== undefined && !explained) n++;
      successAt = at;
      explained = false;
    } else if (successAt !== undefined) {
      if (e.state === "ZOMBIE" || /wrapper died/.test(e.reason)) {
        explained = true;
      }
      if (e.state === "ASSIGNED" && !explained) {
        explained = kills.some((k) =>
          k.target === "broker" && k.at <= at && (k.until ?? k.at) >= successAt!
        );
      }
    }
  }
  return n;
}

/** Counts every violation. */
export function chaosCounts(
  jobs: ChaosJob[],
  kills: ChaosKill[],
  leftovers: { orphans: number; sandboxes: number },
): ChaosCounts {
  const c: ChaosCounts = {
    "acknowledged jobs lost": 0,
    "jobs not final": 0,
    "jobs DONE twice": 0,
    "successful payloads re-run unexplained": 0,
    "DONE jobs with outputs not from their final attempt": 0,
    "orphan processes": leftovers.orphans,
    "leftover sandboxes": leftovers.sandboxes,
  };
  for (const j of jobs) {
    if (j.state === undefined) {
      c["acknowledged jobs lost"]++;
      continue;
    }
    if (!FINAL.has(j.state)) c["jobs not final"]++;
    // The agent's audit line repeats the final state without a move.
    const moves = j.trace.filter((e) => !isAuditNote(e));
    if (moves.filter((e) => e.state === "DONE").length > 1) {
      c["jobs DONE twice"]++;
    }
    c["successful payloads re-run unexplained"] += unexplainedReruns(
      j.trace,
      kills,
    );
    if (
      j.state === "DONE" && j.output?.trim() !== `${j.id} ${j.attempt}`
    ) c["DONE jobs with outputs not from their final attempt"]++;
  }
  return c;
}

/** The counts as a markdown table. */
export function formatCounts(c: ChaosCounts): string {
  const rows = Object.entries(c);
  const w = Math.max(...rows.map(([k]) => k.length));
  return [
    `| ${"count".padEnd(w)} | value |`,
    `| ${"-".repeat(w)} | ----- |`,
    ...rows.map(([k, v]) => `| ${k.padEnd(w)} | ${String(v).padStart(5)} |`),
  ].join("\n");
}

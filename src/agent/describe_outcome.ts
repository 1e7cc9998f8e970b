/**
 * The agent's log line for a job's end.
 *
 * @module
 */
import type { WrapperOutcome } from "./wrapper_outcome.ts";

/**
 * One log line for a job's end: state, exit, kill reason, usage.
 *
 * @example
 * ```ts
 * describeOutcome({ state: "DONE", exitCode: 0, stage: "DONE", startedAt: 0, endedAt: 1 });
 * // "DONE (exit 0)"
 * ```
 */
export function describeOutcome(o: WrapperOutcome): string {
  const u = o.usage;
  const use = u
    ? ` [cpu ${u.cpuSeconds.toFixed(1)} s, max PSS ${
      ((u.maxRssBytes ?? 0) / 2 ** 20).toFixed(1)
    } MB, wall ${u.wallSeconds.toFixed(1)} s, disk ${
      (u.diskBytes / 2 ** 20).toFixed(1)
    } MB]`
    : "";
  return `${o.state} (exit ${o.exitCode}${
    o.killReason !== undefined ? `, kill reason ${o.killReason}` : ""
  })${o.message ? `: ${o.message}` : ""}${use}`;
}

/**
 * What the agent, as the wrapper's supervisor, reports when the wrapper's
 * word cannot be taken: its `end` frame claims a final state the broker
 * refuses (a forged or confused frame), so the job must not stay active
 * at the broker with no process behind it. The agent reports the error
 * state of the stage the broker knows, which the broker accepts from the
 * matched agent, with the reason in the job's trace.
 *
 * @module
 */

/** The error state for a job the broker has in `stage` (JAliEn's mapping). */
function errorFor(stage: string): string {
  if (stage === "SAVING") return "ERROR_SV";
  if (stage === "RUNNING") return "ERROR_E";
  if (stage === "STARTED") return "ERROR_E";
  return "ERROR_A";
}

/**
 * The report for a refused `end` claim.
 *
 * @example
 * ```ts
 * protocolViolation("DONE", "RUNNING", "job 7 cannot go from RUNNING to DONE");
 * // { state: "ERROR_E", message: "wrapper protocol violated: its end frame claimed DONE while the job was RUNNING (job 7 cannot go from RUNNING to DONE)" }
 * ```
 */
export function protocolViolation(
  claimed: string,
  known: string,
  refusal: string,
): { state: string; message: string } {
  return {
    state: errorFor(known),
    message:
      `wrapper protocol violated: its end frame claimed ${claimed} while the job was ${known} (${refusal})`,
  };
}

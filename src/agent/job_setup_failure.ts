/**
 * Reports a job the agent could not even start a wrapper for (its JDL,
 * image or sandbox failed) as ERROR_A, through the retrying report path.
 *
 * @module
 */
import type { MatchedJob } from "./matched_job.ts";
import { reportOutcome, type ReportTarget } from "./report_outcome.ts";

/** Reports ERROR_A for `job` with `reason`; never throws. */
export async function reportSetupFailure(
  t: ReportTarget,
  job: MatchedJob,
  reason: string,
): Promise<void> {
  const now = Date.now();
  try {
    await reportOutcome(t, {
      jobId: job.jobId,
      attempt: job.resubmission,
      death: false,
      outcome: {
        state: "ERROR_A",
        exitCode: 1,
        message: reason,
        stage: "ASSIGNED",
        startedAt: now,
        endedAt: now,
      },
    });
  } catch (e) {
    t.log(
      `job ${job.jobId}: could not report ERROR_A: ${(e as Error).message}`,
    );
  }
}

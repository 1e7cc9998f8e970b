/**
 * The agent's final word on a job in one request, for the common case:
 * the wrapper ended the job itself and the broker already has (or can
 * legally take) that final state. One batch (`src/broker/batch.ts`) then
 * carries the last live-log lines with their end mark, and the outcome
 * with the watchdog's usage, which the broker files as the attempt's
 * accounting. Anything else (a refused move, another attempt, a death)
 * answers non-2xx and the caller falls back to the full path of
 * {@link reportOutcome}, which first asks the broker where the job is.
 *
 * A legal move here is the same move the full path would make: it only
 * changes a state the full path keeps (the wrapper's own final state),
 * and it is tried only for outcomes that are no death and no hand-back
 * (WAITING).
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import { batchPath, type BatchStep } from "../protocol/batch.ts";
import { FINAL_STATES, type JobState } from "../protocol/job_state.ts";
import type { ForwardedLine } from "./log_forwarder.ts";
import type { OutboxEntry } from "./report_outbox.ts";

/** Whether {@link sendFinalReport} may be tried for `e`. */
export function quickReportable(e: OutboxEntry): boolean {
  return !e.death && FINAL_STATES.has(e.outcome.state as JobState);
}

/**
 * Sends the live log's last lines (if any) and the outcome in one
 * request; throws the broker's error when the outcome is refused.
 */
export async function sendFinalReport(
  broker: BrokerClient,
  e: OutboxEntry,
  logTail?: ForwardedLine[],
): Promise<string> {
  const o = e.outcome;
  const steps: BatchStep[] = [];
  if (logTail) {
    steps.push({
      op: "log",
      bestEffort: true,
      body: { lines: logTail, eof: true },
    });
  }
  steps.push({
    op: "status",
    body: {
      state: o.state,
      attempt: e.attempt,
      message: o.message ?? `agent: ${o.state}`,
      exitCode: o.exitCode,
      killReason: o.killReason,
      usage: o.usage,
      // The wrapper's permission audit (src/protocol/audit_verdict.ts).
      audit: o.audit,
    },
  });
  await broker.json("POST", batchPath(e.jobId), { steps });
  return o.state;
}

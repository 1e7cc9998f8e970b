/**
 * The agent's one path for reporting a job's outcome: the outcome goes to
 * the outbox first, then is resent with backoff until the broker
 * acknowledges it, or until the job is provably no longer this attempt's
 * (final, resubmitted, handed to another agent, token revoked).
 *
 * @module
 */
import { ACTIVE_ORDER } from "../protocol/job_state.ts";
import { type BrokerClient, BrokerError } from "../client/broker_client.ts";
import { resend, type ResendOptions } from "../client/resend.ts";
import type { OutboxEntry, ReportOutbox } from "./report_outbox.ts";
import { protocolViolation } from "./supervisor_report.ts";
import { deathState } from "./wrapper_outcome.ts";

const ACTIVE: readonly string[] = ACTIVE_ORDER;

export { deathState };

/** Where {@link reportOutcome} sends and keeps things. */
export interface ReportTarget {
  /** Broker client with the agent token. */
  broker: BrokerClient;
  /** Outbox (omit to report without persisting, e.g. in unit tests). */
  outbox?: ReportOutbox;
  /** Log sink. */
  log: (line: string) => void;
  /** Resend options (time budget). */
  resend?: ResendOptions;
}

/**
 * Reports `e` unless the broker already has a final state for its
 * attempt; returns the state it reported or found. The wrapper's status
 * frames can run ahead of its reports to the broker, so an error is chosen
 * for the stage the broker knows when that is earlier (ERROR_E from
 * ASSIGNED is not a legal move), and a DONE the broker sees in RUNNING
 * goes through SAVING first when the wrapper said SAVING on the pipe. A
 * final state the broker refuses otherwise (e.g. DONE while RUNNING with
 * no SAVING ever said) is a protocol violation, reported as the error of
 * the stage the broker knows.
 */
export async function reportOutcome(
  t: ReportTarget,
  e: OutboxEntry,
): Promise<string> {
  const { broker, log } = t;
  const path = `/api/v1/jobs/${e.jobId}`;
  const o = e.outcome;
  let state = o.state;
  await t.outbox?.put(e).catch((err) =>
    log(`job ${e.jobId}: outbox: ${(err as Error).message}`)
  );
  const post = (s: string, message = o.message ?? `agent: ${s}`) =>
    broker.json("POST", `${path}/status`, {
      state: s,
      attempt: e.attempt,
      message,
      exitCode: o.exitCode,
      killReason: o.killReason,
      // A job handed back for resubmission starts its accounting afresh.
      usage: s === "WAITING" ? undefined : o.usage,
      // The wrapper's permission audit (src/protocol/audit_verdict.ts).
      audit: o.audit,
    });
  const r = await resend(async () => {
    const now = await broker.json<{ state: string; resubmissions: number }>(
      "GET",
      path,
    );
    if (!now || now.resubmissions !== e.attempt) return now?.state ?? state;
    if (!ACTIVE.includes(now.state)) {
      // Ended by the wrapper (or the broker): add what the watchdog saw,
      // which the broker files as this attempt's accounting.
      if (o.usage && now.state !== "WAITING") await post(now.state);
      return now.state;
    }
    const known = ACTIVE.indexOf(now.state);
    state = o.state;
    if (e.death && known < ACTIVE.indexOf(o.stage)) {
      state = deathState(now.state);
    } else if (state.startsWith("ERROR_") && now.state === "ASSIGNED") {
      state = "ERROR_A";
    }
    if (now.state === state) return state;
    // The wrapper said SAVING on the pipe but its report has not reached
    // the broker yet: fill it in. Without that word, a DONE from RUNNING
    // is a protocol violation (below).
    if (
      state.startsWith("DONE") && now.state === "RUNNING" &&
      o.stage === "SAVING"
    ) {
      await post("SAVING");
    }
    try {
      await post(state);
    } catch (err) {
      // The wrapper's end frame claimed a move the broker refuses (a forged
      // or confused frame; an honest wrapper's own reports got there first):
      // report what we saw, so the job does not stay active with no process.
      if (
        !(err instanceof BrokerError) || err.reason !== "illegal_transition" ||
        e.death
      ) {
        throw err;
      }
      const v = protocolViolation(state, now.state, err.message);
      log(`job ${e.jobId}: ${v.message}`);
      await post(v.state, v.message);
      return v.state;
    }
    return state;
  }, {
    ...t.resend,
    onRetry: (err, n) =>
      n === 1 &&
      log(
        `job ${e.jobId}: report ${state} not acknowledged, resending: ${err.message}`,
      ),
  });
  if (r.kind === "expired" || r.kind === "refused") {
    log(`job ${e.jobId}: could not report ${state}: ${r.error.message}`);
    // Expired: keep the entry; the next agent on this work root tries again.
    if (r.kind === "refused") await t.outbox?.remove(e.jobId, e.attempt);
    return state;
  }
  await t.outbox?.remove(e.jobId, e.attempt);
  return r.kind === "acked" ? r.value : state;
}

/**
 * Reports what earlier agents on this work root left in the outbox; the
 * returned promise settles when every entry is delivered or given up.
 */
export async function flushOutbox(
  t: ReportTarget & { outbox: ReportOutbox },
): Promise<void> {
  const entries = await t.outbox.list((file, why) =>
    t.log(`outbox: dropped unreadable ${file}: ${why}`)
  );
  await Promise.all(entries.map(async (e) => {
    t.log(
      `outbox: reporting ${e.outcome.state} of job ${e.jobId} (attempt ${e.attempt}) left by an earlier agent`,
    );
    const s = await reportOutcome(t, e);
    t.log(`outbox: job ${e.jobId} is ${s}`);
  }));
}

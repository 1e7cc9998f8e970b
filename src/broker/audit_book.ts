/**
 * What the broker does with a wrapper's permission-audit verdict, which
 * an agent sends with the job's outcome (`audit` in the status report,
 * `src/protocol/audit_verdict.ts`):
 *
 * - the job's trace gets the summary line (state unchanged); a violation
 *   starts it with `AUDIT_VIOLATION` and it becomes the job's message as
 *   well (the flag on the job), a clean line leaves the message alone;
 * - the shipped log is filed with the job's outputs as `audit.jsonl.gz`
 *   (and in the attempt's own tree), for `splitpilot audit` to re-check;
 * - `splitpilot_audit_verdicts_total{result}` counts it;
 * - an agent certificate with `maxStrikes` violations stops matching
 *   (403 `audit_violations`), in this broker process.
 *
 * Only a verdict of the current attempt of a job that has ended is filed
 * (a resent report finds its line and is not filed twice); the metric and
 * the strike count take every verdict once.
 *
 * @module
 */
import {
  AUDIT_PREFIX,
  auditSummaryLine,
  type AuditVerdict,
  isAuditNote,
  isViolation,
  verdictProblem,
} from "../protocol/audit_verdict.ts";
import { FINAL_STATES } from "../protocol/job_state.ts";
import type { TokenIdentity } from "../token/mod.ts";
import { attemptEntries, attemptLfn } from "./attempts.ts";
import type { BlobStore } from "./blob_store.ts";
import type { BrokerMetrics } from "./broker_metrics.ts";
import { badRequest, forbidden, type HttpError } from "./errors.ts";
import { jobOutputDir } from "./lfn.ts";
import type { JobStore } from "./store.ts";

/** Name of the shipped log in a job's output dir. */
export const AUDIT_LOG_FILE = "audit.jsonl.gz";

/** Violations after which an agent certificate stops matching. */
export const DEFAULT_MAX_STRIKES = 2;

/** See the module doc. */
export class AuditBook {
  #strikes = new Map<string, number>();
  #deps: { store: JobStore; blobs: BlobStore };
  #metrics: BrokerMetrics;
  #max: number;

  /**
   * @param deps the store and the blob store of the broker
   * @param metrics where verdicts are counted
   * @param maxStrikes violations after which an agent stops matching
   */
  constructor(
    deps: { store: JobStore; blobs: BlobStore },
    metrics: BrokerMetrics,
    maxStrikes = DEFAULT_MAX_STRIKES,
  ) {
    this.#deps = deps;
    this.#metrics = metrics;
    this.#max = maxStrikes;
  }

  /**
   * The verdict in a report body, checked: 400 when malformed, 403 when
   * not from an agent (a wrapper must not vouch for itself).
   */
  parse(raw: unknown, who: TokenIdentity): AuditVerdict | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (who.role !== "JOB_AGENT") {
      throw forbidden(
        "wrong_role",
        "only the agent reports a wrapper's permission audit",
      );
    }
    const problem = verdictProblem(raw);
    if (problem) throw badRequest("bad_audit", problem);
    return raw as AuditVerdict;
  }

  /** The refusal for an agent with too many violations, if it has them. */
  refusal(who: TokenIdentity): HttpError | undefined {
    const n = this.#strikes.get(who.fingerprint) ?? 0;
    if (n < this.#max) return undefined;
    return forbidden(
      "audit_violations",
      `agent ${who.subject} stopped matching: its wrappers asked for access outside the permission table in ${n} job(s) (see the jobs' traces, ${AUDIT_PREFIX} lines)`,
    );
  }

  /** Violations counted for an agent certificate. */
  strikes(fingerprint: string): number {
    return this.#strikes.get(fingerprint) ?? 0;
  }

  /**
   * Files `v` for `attempt` of job `jobId`, reported by `who`; a no-op
   * for a job that is not final or an attempt that is over, and for a
   * verdict already filed.
   */
  async record(
    jobId: string,
    attempt: number,
    v: AuditVerdict,
    who: TokenIdentity,
  ): Promise<void> {
    const { store } = this.#deps;
    const job = await store.get(jobId);
    if (!job || job.resubmissions !== attempt) return;
    if (!FINAL_STATES.has(job.state)) return;
    const entries = attemptEntries(await store.trace(jobId), attempt);
    if (entries.some(isAuditNote)) return;
    const line = auditSummaryLine(v);
    const violation = isViolation(v);
    const entry = { actor: `${who.role}:${who.subject}`, reason: line };
    if (violation || !store.note) {
      // The flag: a same-state move, so the line is the job's message too.
      await store.transition(jobId, job.state, job.state, entry);
    } else {
      // A clean line leaves the message saying how the job ended.
      await store.note(jobId, entry);
    }
    this.#metrics.auditVerdicts.inc({
      result: v.mode === "off" ? "off" : violation ? "violation" : "clean",
    });
    if (violation) {
      this.#metrics.auditOutside.inc({ agent: who.subject }, v.outsideCount);
      this.#strikes.set(who.fingerprint, this.strikes(who.fingerprint) + 1);
    }
    if (v.log) await this.#ship(job.owner, jobId, attempt, v.log);
  }

  async #ship(owner: string, jobId: string, attempt: number, b64: string) {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      return; // the summary line is filed; a broken copy is not
    }
    const stored = await this.#deps.blobs.write(
      new Blob([bytes as BlobPart]).stream() as ReadableStream<Uint8Array>,
    );
    const dir = jobOutputDir(owner, jobId);
    for (
      const lfn of [
        dir + AUDIT_LOG_FILE,
        attemptLfn(dir, attempt, AUDIT_LOG_FILE),
      ]
    ) {
      await this.#deps.store.putFile({
        lfn,
        owner,
        jobId,
        size: stored.size,
        sha256: stored.sha256,
        createdAt: Date.now(),
      });
    }
  }
}

/**
 * Attempts of a job, read from its trace. Every resubmission (a move to
 * WAITING after the submit) starts a new attempt, numbered by the job's
 * `resubmissions` count at match time: attempt 0 is the first run.
 *
 * Reports carry the attempt they belong to, which makes them idempotent:
 * a report resent after its answer was lost finds its transition already
 * in its attempt's part of the trace and is acknowledged again, and a
 * report of an older attempt can never move the current one.
 *
 * @module
 */
import type { FileRecord, TraceEntry } from "./store.ts";
import type { JobState } from "./states.ts";

/**
 * The trace entries of attempt `n`: from the entry after its opening
 * WAITING (the submit for attempt 0) up to and including the WAITING that
 * closed it, if any.
 */
export function attemptEntries(
  trace: readonly TraceEntry[],
  n: number,
): TraceEntry[] {
  let seen = -1;
  const out: TraceEntry[] = [];
  for (const e of trace) {
    if (e.state === "WAITING") {
      seen++;
      if (seen === n + 1) {
        out.push(e);
        break;
      }
      continue;
    }
    if (seen === n) out.push(e);
  }
  return out;
}

/**
 * Whether a report of `to` for attempt `n` is already applied: its attempt
 * entered `to` (a preemption's WAITING included).
 */
export function alreadyApplied(
  trace: readonly TraceEntry[],
  n: number,
  to: JobState,
): boolean {
  return attemptEntries(trace, n).some((e) => e.state === to);
}

/**
 * Where the broker files a copy of each output of attempt `n`: under the
 * job's output dir, in `.attempt/<n>/`. The wrapper uploads to the job's
 * output dir as always (that path keeps the latest upload); the broker
 * records the same blob here as well, so every attempt's outputs and logs
 * stay apart and `splitpilot get` serves the attempt that reached the
 * final state. Only the broker writes below `.attempt/`.
 */
export const ATTEMPT_DIR = ".attempt";

/** The per-attempt LFN of `name` (relative to the job's output dir). */
export function attemptLfn(
  outputDir: string,
  attempt: number,
  name: string,
): string {
  return `${outputDir}${ATTEMPT_DIR}/${attempt}/${name}`;
}

/** Whether `lfn` lies in the broker-only per-attempt tree of `outputDir`. */
export function inAttemptTree(outputDir: string, lfn: string): boolean {
  return lfn.startsWith(`${outputDir}${ATTEMPT_DIR}/`);
}

/** Name of an attempt's accounting record in its per-attempt tree. */
export const ACCOUNTING_FILE = ".accounting.json";

/** An attempt's accounting: how it ended and what it used. */
export interface AttemptAccounting {
  /** The attempt. */
  attempt: number;
  /** The state it ended in. */
  state: string;
  /** Exit code, if known. */
  exitCode?: number;
  /** Kill reason, if killed. */
  killReason?: number;
  /** Usage summary (CPU, memory, wall, disk). */
  usage: unknown;
  /** When, ISO time. */
  at: string;
}

/**
 * Files an attempt's accounting as `.attempt/<n>/.accounting.json` in the
 * job's output dir: the job row keeps only the current attempt's usage
 * (a resubmission starts it afresh), this keeps every attempt's.
 */
export async function recordAccounting(
  deps: {
    blobs: {
      write(
        body: ReadableStream<Uint8Array>,
      ): Promise<{ size: number; sha256: string }>;
    };
    store: { putFile(f: FileRecord): Promise<void> };
  },
  outputDir: string,
  owner: string,
  jobId: string,
  a: AttemptAccounting,
): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(a) + "\n");
  const stored = await deps.blobs.write(
    new Blob([bytes]).stream() as ReadableStream<Uint8Array>,
  );
  await deps.store.putFile({
    lfn: attemptLfn(outputDir, a.attempt, ACCOUNTING_FILE),
    owner,
    jobId,
    size: stored.size,
    sha256: stored.sha256,
    createdAt: Date.now(),
  });
}

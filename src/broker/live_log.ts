/**
 * Live job output: the tail of each running job's stdout and stderr as
 * its agent forwards it (`POST /api/v1/jobs/:id/log`), for `splitpilot
 * logs -f` and the dashboard (`GET /api/v1/jobs/:id/log?after=SEQ`).
 *
 * Bounded in every direction: at most `maxLines` lines per job (oldest
 * dropped), `maxJobs` jobs (least recently written dropped), lines cut at
 * 1000 characters, and a per-job rate of appends (excess gets 429 and the
 * agent drops, never the payload). It lives in memory: the full output is
 * what the job uploads (its `stdout` and `stderr` files), which `logs`
 * serves once the job has ended.
 *
 * @example
 * ```ts
 * import { LiveLog } from "./live_log.ts";
 * const log = new LiveLog();
 * log.append("42", [{ stream: "stdout", text: "hello" }]);
 * log.read("42", 0); // { lines: [{ seq: 1, stream: "stdout", text: "hello", at: … }], next: 1, dropped: 0, ended: false }
 * ```
 *
 * @module
 */

/** One line as stored and served. */
export interface LogLine {
  /** Position in the job's log, from 1. */
  seq: number;
  /** `stdout`, `stderr` or `wrapper`. */
  stream: string;
  /** The text, without its newline. */
  text: string;
  /** When the broker got it, ms since epoch. */
  at: number;
}

/** What {@link LiveLog.read} returns. */
export interface LogPage {
  /** Lines after the given sequence number, oldest first. */
  lines: LogLine[];
  /** The sequence number to ask after next time. */
  next: number;
  /** Lines no longer held (dropped for the bound) before `lines[0]`. */
  dropped: number;
  /** The agent sent its last lines for this job (no more will come). */
  ended: boolean;
}

/** Options of {@link LiveLog}. */
export interface LiveLogOptions {
  /** Lines kept per job. @default 2000 */
  maxLines?: number;
  /** Jobs kept. @default 5000 */
  maxJobs?: number;
  /** Appends per job and second. @default 10 */
  appendsPerSecond?: number;
}

interface JobLog {
  lines: LogLine[];
  ended: boolean;
  next: number;
  window: number;
  appends: number;
}

const STREAMS = new Set(["stdout", "stderr", "wrapper"]);

/** See the module doc. */
export class LiveLog {
  #jobs = new Map<string, JobLog>();
  #maxLines: number;
  #maxJobs: number;
  #rate: number;

  /** An empty log store. */
  constructor(opts: LiveLogOptions = {}) {
    this.#maxLines = opts.maxLines ?? 2000;
    this.#maxJobs = opts.maxJobs ?? 5000;
    this.#rate = opts.appendsPerSecond ?? 10;
  }

  /**
   * Appends lines to a job's log. Returns false (nothing stored) when the
   * job is over its append rate.
   */
  append(
    jobId: string,
    lines: { stream: string; text: string }[],
    now: number = Date.now(),
    ended: boolean = false,
  ): boolean {
    let log = this.#jobs.get(jobId);
    if (log) {
      this.#jobs.delete(jobId); // re-inserted below: most recent last
    } else {
      log = { lines: [], ended: false, next: 1, window: 0, appends: 0 };
      if (this.#jobs.size >= this.#maxJobs) {
        this.#jobs.delete(this.#jobs.keys().next().value!);
      }
    }
    this.#jobs.set(jobId, log);
    const window = Math.floor(now / 1000);
    if (log.window !== window) {
      log.window = window;
      log.appends = 0;
    }
    // The last append of a job (`ended`) is always taken.
    if (++log.appends > this.#rate && !ended) return false;
    log.ended ||= ended;
    for (const l of lines.slice(-this.#maxLines)) {
      log.lines.push({
        seq: log.next++,
        stream: STREAMS.has(l.stream) ? l.stream : "stdout",
        text: l.text.slice(0, 1000),
        at: now,
      });
    }
    if (log.lines.length > this.#maxLines) {
      log.lines.splice(0, log.lines.length - this.#maxLines);
    }
    return true;
  }

  /** Lines of a job after sequence number `after` (at most `limit`). */
  read(jobId: string, after: number, limit = 1000): LogPage {
    const log = this.#jobs.get(jobId);
    if (!log) return { lines: [], next: after, dropped: 0, ended: false };
    const first = log.lines[0]?.seq ?? log.next;
    const from = log.lines.findIndex((l) => l.seq > after);
    const lines = from < 0 ? [] : log.lines.slice(from, from + limit);
    return {
      lines,
      next: lines.at(-1)?.seq ?? Math.max(after, first - 1),
      dropped: Math.max(0, first - 1 - after),
      ended: log.ended && (lines.at(-1)?.seq ?? after) >= log.next - 1,
    };
  }

  /** Forgets a job's log. */
  drop(jobId: string): void {
    this.#jobs.delete(jobId);
  }
}

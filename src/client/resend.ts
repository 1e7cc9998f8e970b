/**
 * Resending a report until the broker acknowledges it: a state report or
 * an upload that fails because the broker is down (or answers 5xx) is sent
 * again with backoff for at least the broker's zombie window, and given up
 * only when the job is provably taken away from the sender.
 *
 * @module
 */
import { BrokerError } from "./broker_client.ts";

/** How a resent call ended. */
export type ResendResult<T> =
  | { kind: "acked"; value: T }
  | {
    /** The broker took the job away (token revoked, job moved on). */
    kind: "taken";
    error: BrokerError;
  }
  | {
    /**
     * Refused for good: the broker said no (bad request, no such job) or
     * our own permissions did (NotCapable).
     */
    kind: "refused";
    error: Error;
  }
  | {
    /** The time budget ran out with the broker still unreachable. */
    kind: "expired";
    error: Error;
  };

/** Options of {@link resend}. */
export interface ResendOptions {
  /**
   * How long to keep trying, ms. The default (20 min) outlasts the broker's
   * default zombie window (900 s): a report held back shorter than that
   * could let the broker resubmit a job whose payload already succeeded.
   */
  maxMs?: number;
  /** First delay, ms (doubles up to `maxDelayMs`). @default 250 */
  firstDelayMs?: number;
  /** Longest delay between two tries, ms. @default 5000 */
  maxDelayMs?: number;
  /** Called once per failed try that will be retried. */
  onRetry?: (error: Error, tries: number) => void;
  /** Stops the retries early (the result is `expired`). */
  signal?: AbortSignal;
  /**
   * Errors of the caller's own that no resend can cure (a refused output
   * file, a missing one): the result is `refused` at once.
   */
  permanent?: (error: unknown) => boolean;
}

/** Default time budget of {@link resend}, ms. */
export const RESEND_MAX_MS = 20 * 60_000;

/** Errors about our own files, never about the broker. */
const LOCAL_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
  Deno.errors.FilesystemLoop,
  Deno.errors.InvalidData,
];

/**
 * Classifies a failed call: `retry` (broker unreachable, overloaded or a
 * raced update), `taken` (401: our token is revoked; 403: the job is no
 * longer ours; 409 carrying the broker's view of the job) or `refused`.
 */
export function classify(e: unknown): "retry" | "taken" | "refused" {
  // Our own permissions (or code) said no: resending cannot change that.
  if (
    e instanceof Deno.errors.NotCapable ||
    e instanceof Deno.errors.PermissionDenied
  ) return "refused";
  // A local file that is gone or is not a file stays so; only network
  // errors (a broker unreachable, a body cut off mid-read) pass.
  if (LOCAL_ERRORS.some((c) => e instanceof c)) return "refused";
  if (!(e instanceof BrokerError)) return "retry";
  const s = e.status;
  if (s === 0 || s === 408 || s === 429 || s >= 500) return "retry";
  if (s === 401 || s === 403) return "taken";
  if (s === 409) return e.view ? "taken" : "retry";
  return "refused";
}

/**
 * Calls `fn` until it succeeds or {@link classify} says stop.
 *
 * @example Resend a final state
 * ```ts ignore
 * const r = await resend(() =>
 *   broker.json("POST", `/api/v1/jobs/${id}/status`, { state: "DONE" })
 * );
 * if (r.kind !== "acked") log(`DONE not acknowledged: ${r.kind}`);
 * ```
 */
export async function resend<T>(
  fn: () => Promise<T>,
  opts: ResendOptions = {},
): Promise<ResendResult<T>> {
  const end = Date.now() + (opts.maxMs ?? RESEND_MAX_MS);
  let delay = opts.firstDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 5000;
  for (let tries = 1;; tries++) {
    try {
      return { kind: "acked", value: await fn() };
    } catch (e) {
      const kind = opts.permanent?.(e) ? "refused" : classify(e);
      if (kind !== "retry") {
        return { kind, error: e as BrokerError } as ResendResult<T>;
      }
      if (Date.now() + delay > end || opts.signal?.aborted) {
        return { kind: "expired", error: e as Error };
      }
      opts.onRetry?.(e as Error, tries);
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

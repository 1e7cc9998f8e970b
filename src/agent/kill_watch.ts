/**
 * The cheap kill check: while a job runs, the agent asks the broker for
 * the job's state every few seconds (one `GET /api/v1/jobs/:id`, a read of
 * one row; the heartbeat, a write, stays at its own slow pace) and stops
 * the payload as soon as a user's kill shows. With the 2 s default a kill
 * reaches the payload in about 2 s plus the wrapper's SIGTERM, well within
 * the 5 s goal; `bench/kill_latency.ts` measures both the latency and the
 * broker time one check costs.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";

/** Default interval of the kill check, s. */
export const KILL_CHECK_SECONDS = 2;

/** Options of {@link watchForKill}. */
export interface KillWatchOptions {
  /** Agent-token client. */
  broker: BrokerClient;
  /** The job. */
  jobId: string;
  /** Interval, ms (0 or less: no watch). */
  intervalMs: number;
  /** Called once when the job shows up KILLED. */
  onKill: (reason: number, message: string) => void;
}

/**
 * Starts the kill check; returns its stop function. Failures are silent:
 * the heartbeat already reports an unreachable broker.
 *
 * @example
 * ```ts ignore
 * const stop = watchForKill({ broker, jobId, intervalMs: 2000, onKill });
 * // ... the job ends ...
 * stop();
 * ```
 */
export function watchForKill(opts: KillWatchOptions): () => void {
  if (opts.intervalMs <= 0) return () => {};
  let stopped = false;
  let busy = false;
  const check = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const j = await opts.broker.json<
        { state: string; killReason?: number | null; message?: string | null }
      >("GET", `/api/v1/jobs/${opts.jobId}`);
      if (!stopped && j?.state === "KILLED") {
        stopped = true;
        clearInterval(timer);
        opts.onKill(j.killReason ?? 30, j.message ?? "killed by user");
      }
    } catch {
      /* the heartbeat says it */
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(check, opts.intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/**
 * The agent's words for a kill the broker announced: the broker's message
 * already ends in "(kill reason N)", which the agent's own log line states
 * once itself.
 */
export function brokerKillMessage(message: string): string {
  return `broker: ${message.replace(/\s*\(kill reason \d+\)\s*$/, "")}`;
}

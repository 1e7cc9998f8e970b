/**
 * The heartbeat of a running job: every interval (and on demand, e.g.
 * when the payload is done and its final usage is known) the agent posts
 * the job's usage to the broker. The answer may order a kill; a 403 or
 * 409 means the broker gave the job up (final, or resubmitted to someone
 * else), and running on would only duplicate it.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import type { Usage } from "../protocol/usage.ts";
import { brokerKillMessage } from "./kill_watch.ts";

/** Options of {@link HeartbeatLoop}. */
export interface HeartbeatOptions {
  /** Agent-token client. */
  broker: Pick<BrokerClient, "json">;
  /** The job. */
  jobId: string;
  /** Interval, ms. */
  intervalMs: number;
  /** The usage to report now. */
  usage: () => Usage;
  /** Whether the wrapper already said its job is final. */
  finalSeen: () => boolean;
  /** Called to stop the job (reason, message). */
  onKill: (reason: number, message: string) => void;
  /** Log sink. */
  log: (line: string) => void;
}

/**
 * Heartbeats for one job, at most one in flight.
 *
 * @example
 * ```ts ignore
 * const hb = new HeartbeatLoop({ broker, jobId, intervalMs: 60_000, usage, finalSeen, onKill, log });
 * hb.start();
 * // ... the wrapper ends; the outcome is reported ...
 * hb.end();
 * hb.stop();
 * ```
 */
export class HeartbeatLoop {
  #opts: HeartbeatOptions;
  #beating: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ended = false;

  /** A loop for one job (not started). */
  constructor(opts: HeartbeatOptions) {
    this.#opts = opts;
  }

  /** Starts the interval. */
  start(): void {
    this.#timer ??= setInterval(() => this.beat(), this.#opts.intervalMs);
  }

  /** One heartbeat now, or the one in flight. */
  beat(): Promise<void> {
    this.#beating ??= this.#once().finally(() => this.#beating = undefined);
    return this.#beating;
  }

  /** The heartbeat in flight, if any. */
  get pending(): Promise<void> | undefined {
    return this.#beating;
  }

  /**
   * The wrapper is over: heartbeats go on until the outcome is
   * acknowledged, but nothing is left for them to stop.
   */
  end(): void {
    this.#ended = true;
  }

  /** Stops the interval. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #once(): Promise<void> {
    const { broker, jobId, log, onKill, finalSeen } = this.#opts;
    try {
      const r = await broker.json<
        { kill?: { reason: number; message: string } }
      >("POST", `/api/v1/jobs/${jobId}/heartbeat`, {
        usage: this.#opts.usage(),
      });
      if (r?.kill && !this.#ended) {
        onKill(r.kill.reason, brokerKillMessage(r.kill.message));
      }
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (this.#ended) return;
      if ((status === 403 || status === 409) && !finalSeen()) {
        onKill(
          KillReason.PREEMPTED,
          `the broker no longer has this job as ours: ${(e as Error).message}`,
        );
      } else if (!finalSeen()) {
        log(`job ${jobId}: heartbeat failed: ${(e as Error).message}`);
      }
    }
  }
}

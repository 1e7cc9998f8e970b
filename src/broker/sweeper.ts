/**
 * The sweeper: the broker's own clock-driven transitions.
 *
 * Every interval it marks active jobs whose heartbeats stopped as ZOMBIE
 * (and puts them back to WAITING while they have resubmissions left, with
 * a fresh job token at their next match), and waiting jobs past their
 * maximum waiting time as EXPIRED. Both are traced with actor `broker`.
 *
 * @module
 */
import type { JobStore } from "./store.ts";

/** Options of {@link Sweeper}. */
export interface SweeperOptions {
  /** Seconds between sweeps. @default 30 */
  intervalSeconds?: number;
  /**
   * Seconds without a heartbeat (or state report) after which an active
   * job is a ZOMBIE. Agents beat every 60 s by default. @default 900
   */
  zombieAfterSeconds?: number;
  /** Automatic resubmissions of a zombie. @default 10 */
  maxResubmissions?: number;
  /** Jobs handled per kind and sweep. @default 1000 */
  batch?: number;
  /** Called with errors of a sweep (the next sweep still runs). @default console.error */
  onError?: (e: unknown) => void;
  /** Called with what each timed sweep did (metrics). @default none */
  onSweep?: (report: SweepReport) => void;
}

/** What one sweep did (job IDs). */
export interface SweepReport {
  /** Jobs that went ZOMBIE. */
  zombies: string[];
  /** Zombies put back to WAITING. */
  requeued: string[];
  /** Jobs that went EXPIRED. */
  expired: string[];
}

/** Runs sweeps on a timer; see the module doc. */
export class Sweeper {
  #store: JobStore;
  #interval: number;
  #zombieMs: number;
  #maxResub: number;
  #batch: number;
  #onError: (e: unknown) => void;
  #onSweep?: (report: SweepReport) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = true;

  /** A sweeper over `store`; call {@link Sweeper.start} to run it. */
  constructor(store: JobStore, opts: SweeperOptions = {}) {
    this.#store = store;
    this.#interval = (opts.intervalSeconds ?? 30) * 1000;
    this.#zombieMs = (opts.zombieAfterSeconds ?? 900) * 1000;
    this.#maxResub = opts.maxResubmissions ?? 10;
    this.#batch = opts.batch ?? 1000;
    this.#onSweep = opts.onSweep;
    this.#onError = opts.onError ??
      ((e) => console.error("sweeper:", e));
    if (!(this.#interval > 0) || !(this.#zombieMs > 0)) {
      throw new RangeError(
        "sweeper intervalSeconds and zombieAfterSeconds must be positive numbers",
      );
    }
  }

  /** One sweep now. */
  async sweep(now: number = Date.now()): Promise<SweepReport> {
    const report: SweepReport = { zombies: [], requeued: [], expired: [] };
    const cutoff = now - this.#zombieMs;
    for (const job of await this.#store.silentSince(cutoff, this.#batch)) {
      // A heartbeat may have come in since the query.
      const fresh = await this.#store.get(job.id);
      if (
        !fresh || fresh.state !== job.state ||
        (fresh.heartbeatAt ?? 0) >= cutoff
      ) {
        continue;
      }
      const silent = Math.round((now - (fresh.heartbeatAt ?? now)) / 1000);
      const state = await this.#store.transition(job.id, job.state, "ZOMBIE", {
        actor: "broker",
        reason: `no heartbeat for ${silent} s (limit ${
          this.#zombieMs / 1000
        } s) in ${job.state}`,
      }, { requeueLimit: this.#maxResub });
      if (state === undefined) continue;
      report.zombies.push(job.id);
      if (state === "WAITING") report.requeued.push(job.id);
    }
    for (const job of await this.#store.overdue(now, this.#batch)) {
      const waited = Math.round((now - job.updatedAt) / 1000);
      const state = await this.#store.transition(job.id, "WAITING", "EXPIRED", {
        actor: "broker",
        reason: `waited ${waited} s, longer than its maximum waiting time`,
      });
      if (state) report.expired.push(job.id);
    }
    return report;
  }

  /** Starts sweeping every interval (the timer does not keep Deno alive). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  #schedule() {
    this.#timer = setTimeout(() => {
      this.#running = this.#leaderSweep().then((r) => r && this.#onSweep?.(r))
        .catch(
          this.#onError,
        ).finally(() => {
          if (!this.#stopped) this.#schedule();
        });
    }, this.#interval);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /**
   * A timed sweep, on the one replica that leads (a store shared by
   * replicas elects one, see {@link JobStore.sweeperLeader}); undefined
   * on the others.
   */
  async #leaderSweep(): Promise<SweepReport | undefined> {
    const leads = this.#store.sweeperLeader
      ? await this.#store.sweeperLeader()
      : true;
    return leads ? await this.sweep() : undefined;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}

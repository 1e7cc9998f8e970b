/**
 * The one kill sequence for a running wrapper: `cancel` frame → grace →
 * SIGTERM to the tree → SIGKILL of the whole tree. Whatever asks for the
 * kill (watchdog limit, user kill via the broker, preemption), this is
 * how the job goes down, so every path gives the payload the same chance
 * to save its work and none leaves a process behind.
 *
 * @module
 */
import type { CancelMessage } from "../protocol/mod.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import type { TreeSignal, WatchedTree } from "../watchdog/sampler.ts";
import { signalOwnGroup } from "../watchdog/verified_kill.ts";
import type { StopRequest } from "./matched_job.ts";

/** The wrapper process as the kill sequence needs it. */
export interface KilledChild {
  /** Its PID (its process group's ID with `groupKill`). */
  readonly pid: number;
  /** Signals the process itself. */
  kill(signal: Deno.Signal): void;
}

/** Options of {@link KillSequence}. */
export interface KillSequenceOptions {
  /** The job (for log lines). */
  jobId: string;
  /** The wrapper process. */
  child: KilledChild;
  /** Whether the launcher needs a group kill (no pid namespace). */
  groupKill: boolean;
  /** Sends the `cancel` frame to the wrapper. */
  sendCancel: (c: CancelMessage) => Promise<void>;
  /** Grace after `cancel` before SIGTERM to the tree, ms. @default 10000 */
  cancelGraceMs?: number;
  /** Grace after SIGTERM before SIGKILL, ms. @default 5000 */
  termGraceMs?: number;
  /** Log sink. */
  log: (line: string) => void;
  /** Signals a process group without a watched tree (tests). */
  signalGroup?: (sig: TreeSignal, pgid: number) => Promise<unknown>;
}

/**
 * Runs the kill sequence once per job; later requests are ignored (the
 * first reason is the job's).
 *
 * @example
 * ```ts ignore
 * const kills = new KillSequence({ jobId, child, groupKill: false, sendCancel, log });
 * kills.kill(KillReason.USER, "broker: killed by user");
 * // ... the wrapper ends ...
 * kills.dispose();
 * ```
 */
export class KillSequence {
  /** The watched tree, once the sampler watches it. */
  tree: WatchedTree | undefined;
  #opts: KillSequenceOptions;
  #cancelled: CancelMessage | undefined;
  #timers: ReturnType<typeof setTimeout>[] = [];

  /** A sequence for one wrapper. */
  constructor(opts: KillSequenceOptions) {
    this.#opts = opts;
  }

  /** The cancel that started the sequence, if any. */
  get cancelled(): CancelMessage | undefined {
    return this.#cancelled;
  }

  /** Grace after `cancel` before SIGTERM, ms. */
  get graceMs(): number {
    return this.#opts.cancelGraceMs ?? 10000;
  }

  /** Grace after SIGTERM before SIGKILL, ms. */
  get termGraceMs(): number {
    return this.#opts.termGraceMs ?? 5000;
  }

  /** Signals the wrapper's tree (or its process group) now. */
  async stopTree(sig: TreeSignal): Promise<void> {
    const { child, groupKill, jobId, log } = this.#opts;
    if (sig === "KILL") {
      // Our own child first: this needs nothing that could hang.
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    if (this.tree) {
      try {
        // With a pid namespace the root is the launcher, whose death ends
        // the namespace at once: SIGTERM spares it so the payload gets its
        // TERM; SIGKILL takes everything.
        const n = await this.tree.signal(sig, {
          includeRoot: sig === "KILL" || groupKill,
        });
        if (n > 0) log(`job ${jobId}: SIG${sig} to ${n} process(es)`);
      } catch (e) {
        log(`job ${jobId}: SIG${sig} failed: ${(e as Error).message}`);
      }
    } else if (groupKill) {
      await (this.#opts.signalGroup ?? signalOwnGroup)(sig, child.pid);
    }
  }

  /** `cancel` now, SIGTERM after `termAfterMs`, SIGKILL after `killAfterMs`. */
  cancel(c: CancelMessage, termAfterMs: number, killAfterMs: number): void {
    if (this.#cancelled) return;
    this.#cancelled = c;
    this.#opts.log(
      `job ${this.#opts.jobId}: cancel (reason ${c.reason}): ${c.message}`,
    );
    this.#opts.sendCancel({ ...c, graceMs: termAfterMs }).catch(() => {});
    this.#timers.push(setTimeout(() => this.stopTree("TERM"), termAfterMs));
    this.#timers.push(setTimeout(() => this.stopTree("KILL"), killAfterMs));
  }

  /** A kill with the configured graces (watchdog, broker). */
  kill(reason: number, message: string): void {
    const grace = this.graceMs;
    this.cancel(
      { reason, message, graceMs: grace },
      grace,
      grace + this.termGraceMs,
    );
  }

  /**
   * A stop by the agent (preemption): `r` may bring its own reason and
   * time budget (a {@link StopRequest}); SIGTERM at 60% of it, SIGKILL at
   * 80%.
   */
  stop(r: Partial<StopRequest> | undefined): void {
    const total = r?.graceMs ?? this.graceMs + this.termGraceMs;
    this.cancel(
      {
        reason: r?.reason ?? KillReason.PREEMPTED,
        message: r?.message ?? "slot preempted",
        graceMs: total,
      },
      Math.round(total * 0.6),
      Math.round(total * 0.8),
    );
  }

  /** Clears pending signals (the wrapper is over). */
  dispose(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }
}

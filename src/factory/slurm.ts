/**
 * Slurm, driven through `sbatch`, `squeue` and `scancel`, and `sacct` for
 * pilots the controller has already forgotten when accounting is enabled.
 *
 * Pilots are found by job name (`squeue -n NAME`), so a restarted factory
 * picks up the pilots it submitted before. `squeue -t all` still lists a
 * pilot for `MinJobAge` seconds after it ended (300 by default), which is
 * when the factory sees how it ended.
 *
 * @example
 * ```ts
 * import { SlurmBatch } from "./slurm.ts";
 * const slurm = new SlurmBatch({ partition: "grid" });
 * slurm.submitArgv({ script: "/srv/f/pilot.sh", name: "sp-pilot-CERN", cores: 8,
 *   ttlSeconds: 86400, logDir: "/srv/f/log" });
 * // ["sbatch", "--parsable", "--job-name", "sp-pilot-CERN", "--cpus-per-task", "8", …]
 * ```
 *
 * @module
 */
import {
  type BatchSystem,
  type PilotRequest,
  type PilotState,
  type PilotStatus,
  runBatchCommand,
} from "./batch_system.ts";

/** Options of {@link SlurmBatch}. */
export interface SlurmOptions {
  /** Default partition (`--partition`), when a request names none. */
  partition?: string;
  /** Directory of the Slurm commands. @default found on PATH */
  binDir?: string;
  /** Extra environment for the commands (e.g. `SLURM_CONF`). */
  env?: Record<string, string>;
}

/** Slurm's state words, by what they mean for a pilot. */
const STATES: Record<string, PilotState> = {
  PENDING: "queued",
  CONFIGURING: "queued",
  REQUEUED: "queued",
  REQUEUE_HOLD: "queued",
  REQUEUE_FED: "queued",
  RESV_DEL_HOLD: "queued",
  SUSPENDED: "queued",
  RUNNING: "running",
  COMPLETING: "running",
  STAGE_OUT: "running",
  SIGNALING: "running",
  RESIZING: "running",
  COMPLETED: "finished",
  CANCELLED: "cancelled",
  PREEMPTED: "cancelled",
  REVOKED: "cancelled",
  FAILED: "failed",
  TIMEOUT: "failed",
  NODE_FAIL: "failed",
  BOOT_FAIL: "failed",
  DEADLINE: "failed",
  OUT_OF_MEMORY: "failed",
  SPECIAL_EXIT: "failed",
};

/** Maps a Slurm state word (`CANCELLED by 0` → `CANCELLED`) to a {@link PilotState}. */
export function slurmState(raw: string): PilotState {
  return STATES[raw.trim().split(/\s+/)[0].replace(/\+$/, "")] ?? "failed";
}

/** Whole minutes for `--time`, at least 1. */
function minutes(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** See the module doc. */
export class SlurmBatch implements BatchSystem {
  /** @inheritdoc */
  readonly name = "slurm";
  #opts: SlurmOptions;

  /** A Slurm driver. */
  constructor(opts: SlurmOptions = {}) {
    this.#opts = opts;
  }

  #bin(cmd: string): string {
    return this.#opts.binDir ? `${this.#opts.binDir}/${cmd}` : cmd;
  }

  /** The `sbatch` argv for `req`. */
  submitArgv(req: PilotRequest): string[] {
    const partition = req.queue ?? this.#opts.partition;
    return [
      this.#bin("sbatch"),
      "--parsable",
      "--job-name",
      req.name,
      "--cpus-per-task",
      String(req.cores),
      "--ntasks",
      "1",
      "--nodes",
      "1",
      "--time",
      String(minutes(req.ttlSeconds)),
      // The agent preempts its jobs on SIGTERM; Slurm sends it before
      // SIGKILL at the time limit only when asked to.
      "--signal",
      "B:TERM@60",
      ...(partition ? ["--partition", partition] : []),
      "--output",
      `${req.logDir}/%j.out`,
      "--error",
      `${req.logDir}/%j.err`,
      // Only SLURM_* (SLURM_CONF among them) reaches the pilot: nothing of
      // the factory's own environment, and no login shell is run.
      "--export",
      "NIL",
      req.script,
    ];
  }

  /** The `squeue` argv listing the pilots named `name`. */
  statusArgv(name: string): string[] {
    return [
      this.#bin("squeue"),
      "--noheader",
      "--states",
      "all",
      "--name",
      name,
      "--format",
      "%i|%T|%r",
    ];
  }

  /** Parses {@link statusArgv}'s output. */
  static parseStatus(text: string): PilotStatus[] {
    const out: PilotStatus[] = [];
    for (const line of text.split("\n")) {
      const [id, raw, reason] = line.trim().split("|");
      if (!id || !raw || !/^\d+(_\d+)?$/.test(id)) continue;
      const r = reason && reason !== "None" ? reason : undefined;
      out.push({ id, state: slurmState(raw), raw, reason: r });
    }
    return out;
  }

  /** @inheritdoc */
  async submit(req: PilotRequest): Promise<string> {
    const out = await runBatchCommand(this.submitArgv(req), this.#opts.env);
    // --parsable prints "ID" or "ID;cluster".
    const id = out.trim().split(";")[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch printed "${out.trim()}"`);
    return id;
  }

  /** @inheritdoc */
  async status(name: string): Promise<PilotStatus[]> {
    return SlurmBatch.parseStatus(
      await runBatchCommand(this.statusArgv(name), this.#opts.env),
    );
  }

  /** @inheritdoc */
  async cancel(id: string): Promise<void> {
    await runBatchCommand([this.#bin("scancel"), id], this.#opts.env);
  }
}

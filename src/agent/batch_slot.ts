/**
 * The slot a batch system gave the agent, read from the job's environment
 * when the command line does not say it: what a pilot submitted by a
 * factory needs, since its startup script is the same for every slot.
 *
 * Slurm: cores from `SLURM_CPUS_ON_NODE`, else `SLURM_JOB_CPUS_PER_NODE`
 * (the first node's count, e.g. `4(x2)` → 4); the end of the slot from
 * `SLURM_JOB_END_TIME` (Unix seconds; Slurm sets it from 23.02 on, and the
 * startup script fills it in from `squeue -h -j $SLURM_JOB_ID -o %e` on
 * older versions).
 *
 * @example
 * ```ts
 * import { batchSlot } from "./batch_slot.ts";
 * const slot = batchSlot({ SLURM_CPUS_ON_NODE: "4", SLURM_JOB_END_TIME: "1900000000" }, 1_800_000_000_000);
 * slot; // { cores: 4, ttlSeconds: 100000000, source: "slurm" }
 * ```
 *
 * @module
 */

/** What {@link batchSlot} found. */
export interface BatchSlot {
  /** Cores of the slot, if the batch system said. */
  cores?: number;
  /** Seconds left in the slot, if the batch system said. */
  ttlSeconds?: number;
  /** Which batch system said it. */
  source?: "slurm";
}

function wholeNumber(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d{1,12})/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads the slot from `env` (a record, or a lookup function). `now` is
 * ms since the epoch. Values that do not parse are ignored.
 */
export function batchSlot(
  env:
    | Record<string, string | undefined>
    | ((name: string) => string | undefined),
  now: number = Date.now(),
): BatchSlot {
  const get = typeof env === "function" ? env : (n: string) => env[n];
  if (
    get("SLURM_JOB_ID") === undefined &&
    get("SLURM_CPUS_ON_NODE") === undefined
  ) {
    return {};
  }
  const out: BatchSlot = { source: "slurm" };
  const cores = wholeNumber(get("SLURM_CPUS_ON_NODE")) ??
    wholeNumber(get("SLURM_JOB_CPUS_PER_NODE"));
  if (cores !== undefined && cores > 0) out.cores = cores;
  const end = wholeNumber(get("SLURM_JOB_END_TIME"));
  if (end !== undefined && end > 0) {
    const left = Math.floor(end - now / 1000);
    if (left > 0) out.ttlSeconds = left;
  }
  return out;
}

/** {@link batchSlot} of this process's environment (names it may not read count as unset). */
export function batchSlotFromEnv(now: number = Date.now()): BatchSlot {
  return batchSlot((name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  }, now);
}

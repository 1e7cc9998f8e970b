/**
 * Signals that reach only the job's processes: every target names a
 * process by pid, start time and (when known) pid namespace, and the
 * `splitpilot-kill` helper checks all three again right before the signal.
 * A pid that died and was reused, or that never was the job's, is skipped.
 *
 * @example
 * ```ts
 * import { signalVerified } from "./verified_kill.ts";
 * await signalVerified("TERM", [{ pid: 4242, startTime: 123456 }]);
 * ```
 *
 * @module
 */
import { helperPath } from "./helpers.ts";
import type { TreeSignal } from "./sampler.ts";

/** One target: a process, or the group it leads (`group: true`). */
export interface KillTarget {
  /** Process ID (for a group: its leader, = the group ID). */
  pid: number;
  /** Start time, clock ticks after boot (field 22 of its stat). */
  startTime: number;
  /** Inode of its pid namespace, when known. */
  ns?: number;
  /** Signal the group the process leads instead of the process. */
  group?: boolean;
}

/** The helper's argument for one target. */
export function killTargetArg(t: KillTarget): string {
  if (!Number.isSafeInteger(t.pid) || t.pid <= 1) {
    throw new RangeError(`kill target pid ${t.pid}: expected a pid above 1`);
  }
  if (!Number.isSafeInteger(t.startTime) || t.startTime < 0) {
    throw new RangeError(
      `kill target ${t.pid}: start time ${t.startTime} is not a tick count`,
    );
  }
  const ns = t.ns !== undefined && Number.isSafeInteger(t.ns) ? `:${t.ns}` : "";
  return `${t.group ? "-" : ""}${t.pid}:${t.startTime}${ns}`;
}

/** Runs the kill helper; resolves when it is done (errors are ignored). */
export async function signalVerified(
  signal: TreeSignal,
  targets: readonly KillTarget[],
  helper = helperPath("kill"),
): Promise<void> {
  if (targets.length === 0) return;
  await runKill(helper, [signal, ...targets.map(killTargetArg)]);
}

/**
 * Signals the process group of the agent's own child `pgid` (spawned as
 * a group leader and not yet reaped, so the group cannot be anyone
 * else's).
 */
export async function signalOwnGroup(
  signal: TreeSignal,
  pgid: number,
  helper = helperPath("kill"),
): Promise<void> {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return;
  await runKill(helper, [signal, `-${pgid}`]);
}

async function runKill(helper: string, args: string[]): Promise<void> {
  await new Deno.Command(helper, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
  }).output().catch(() => {});
}

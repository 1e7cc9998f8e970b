/**
 * Telling the container's OOM killer from an ordinary `kill -9`, for a
 * runtime whose container has a memory cgroup of its own (podman or
 * docker with `--memory`, see `kernel_limits.ts`): such a job must end like a watchdog
 * memory kill, ERROR_E with kill reason 80, not with a bare exit 137.
 *
 * Both kills end a process with SIGKILL. What tells them apart is the
 * kernel's count of OOM kills in the container's memory cgroup: `oom_kill`
 * in `memory.events` (cgroup v2) or `memory.oom_control` (v1), readable
 * from inside the container (see {@link OOM_SHIM}). The cgroup is new with
 * the container, so the count starts at 0, and nothing in the container can
 * raise it except by really running out of memory: a `kill -9` leaves it
 * at 0 and can never be reported as an OOM kill.
 *
 * Who reads it: not the wrapper (Deno grants `/sys` only with
 * `--allow-all`), but the lease shim, the container's init, a shell. When
 * the wrapper exits, the shim reads the count and, if it is not 0, exits
 * with {@link OOM_EXIT} instead of the wrapper's status; the agent, which
 * reports kills, turns that into the memory kill ({@link oomOutcome}). So
 * that the agent can still report it, the wrapper leaves a payload's death
 * by SIGKILL to the agent under such a launch ({@link OOM_CHECK_ENV}). The
 * payload runs as another uid than the shim and cannot change the shim's
 * exit status.
 *
 * @module
 */
import { KillReason } from "../protocol/kill_reason.ts";
import type { LaunchSpec } from "./driver.ts";
import { LEASE_PATH, LEASE_SHIM } from "./lease.ts";

/** The shim's exit status when the container's OOM killer struck. */
export const OOM_EXIT = 180;

/**
 * Set to `1` in the wrapper's environment when the launch checks for OOM
 * kills: the wrapper then leaves a payload's SIGKILL to the agent.
 */
export const OOM_CHECK_ENV = "SPLITPILOT_OOM_CHECK";

/**
 * Whether a launch runs the job in a memory cgroup of its own, shown to it
 * as `/sys/fs/cgroup`: podman or docker given a memory limit. (bwrap and
 * `none` show the host's cgroups, whose count says nothing about the job;
 * the watchdog enforces memory there. singularity 2.6 makes no cgroup.)
 */
export function ownMemoryCgroup(
  launch: { driver: { name: string }; resources?: LaunchSpec["resources"] },
): boolean {
  return (launch.driver.name === "podman" || launch.driver.name === "docker") &&
    !!launch.resources?.memoryBytes;
}

/**
 * The lease shim (`lease.ts`) followed by the OOM check, in shell builtins
 * only, so any image with a `/bin/sh` runs it. The count is read from the
 * shim's own memory cgroup (named in `/proc/self/cgroup`) under the
 * host's cgroup tree, which a container on the host's network sees (its
 * `/sys` is the host's); else from `/sys/fs/cgroup` itself, which
 * otherwise is the container's own cgroup. A file found at neither place,
 * or the host's root cgroup (whose count stays 0), reports nothing.
 */
export const OOM_SHIM = [
  LEASE_SHIM,
  "s=$? n=0 m= u=",
  "while IFS=: read -r _ c p; do case ,$c, in",
  "  *,memory,*) m=$p ;; ,,) u=$p ;; esac; done </proc/self/cgroup",
  'for f in "/sys/fs/cgroup/memory$m/memory.oom_control" \\',
  '  "/sys/fs/cgroup$u/memory.events" /sys/fs/cgroup/memory/memory.oom_control \\',
  "  /sys/fs/cgroup/memory.events; do",
  '  [ -r "$f" ] || continue',
  '  while read -r k v; do [ "$k" = oom_kill ] && n=$v; done <"$f"',
  "  break",
  "done",
  `[ "$n" -gt 0 ] 2>/dev/null && exit ${OOM_EXIT}`,
  'exit "$s"',
].join("\n");

/** `argv` run under {@link OOM_SHIM} (container paths). */
export function oomLeaseArgv(argv: string[], lease = LEASE_PATH): string[] {
  return ["/bin/sh", "-c", OOM_SHIM, "splitpilot-lease", lease, ...argv];
}

/** The parts of an agent's outcome {@link oomOutcome} looks at. */
export interface OomOutcomeInput {
  /** Final state. */
  state: string;
  /** Exit code. */
  exitCode: number;
  /** Detail. */
  message?: string;
  /** Kill reason, if killed. */
  killReason?: number;
}

/**
 * The outcome to report for a job whose launcher (the shim) exited with
 * `launcherCode`: a memory kill when the container's OOM killer struck and
 * the job did not end otherwise, else `outcome` unchanged. A job that ended
 * well (DONE, or an error of its own with any other exit code) or was
 * killed for another reason keeps its outcome: only a SIGKILL (exit 137)
 * of the payload, or the wrapper's death, is the OOM killer's.
 *
 * @example
 * ```ts
 * import { OOM_EXIT, oomOutcome } from "./oom_check.ts";
 * oomOutcome({ state: "ERROR_E", exitCode: 137 }, OOM_EXIT, true).killReason;
 * // 80
 * ```
 */
export function oomOutcome<T extends OomOutcomeInput>(
  outcome: T,
  launcherCode: number | null,
  wrapperDied: boolean,
  limitBytes?: number,
): T {
  if (launcherCode !== OOM_EXIT || outcome.killReason !== undefined) {
    return outcome;
  }
  if (!wrapperDied && outcome.exitCode !== 137) return outcome;
  if (outcome.state === "DONE" || outcome.state === "WAITING") return outcome;
  const limit = limitBytes
    ? ` (limit ${Math.round(limitBytes / 2 ** 20)} MiB, wrapper included)`
    : "";
  return {
    ...outcome,
    exitCode: 137,
    killReason: KillReason.MEMORY,
    message: `memory limit: killed by the container's OOM killer${limit}${
      wrapperDied ? "; the wrapper died too" : ""
    }`,
  };
}

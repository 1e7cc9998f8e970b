/**
 * The kernel-enforced limits a runtime with its own cgroup (podman) gets
 * from a job's limits.
 *
 * The watchdog cannot see a podman payload: the container's processes are
 * children of conmon, not of the agent. So the container's cgroup
 * enforces memory and process count itself. The memory limit is the
 * watchdog's kill threshold plus room for the wrapper, which lives in the
 * same cgroup; swap is capped at the same value so the payload cannot page
 * past it. Files in the container's `/tmp` are on the sandbox's disk (see
 * `payload_user.ts`), so they count against `WorkDirectorySize` instead.
 *
 * @module
 */
import type { JobLimits } from "../watchdog/limits.ts";
import type { LaunchSpec } from "./driver.ts";

/** Memory the wrapper itself may use inside the job's cgroup, bytes. */
export const WRAPPER_MEMORY_BYTES = 128 * 2 ** 20;

/** Processes a job may have at once (fork bombs end at the cgroup). */
export const JOB_PIDS_LIMIT = 4096;

/**
 * `resources` for {@link LaunchSpec} from a job's limits.
 *
 * @example
 * ```ts
 * kernelLimits({ memoryBytes: 50e6, memoryFactor: 1.2 } as JobLimits);
 * // { memoryBytes: 60_000_000 + WRAPPER_MEMORY_BYTES, pids: 4096 }
 * ```
 */
export function kernelLimits(
  limits: Pick<JobLimits, "memoryBytes" | "memoryFactor">,
): NonNullable<LaunchSpec["resources"]> {
  return {
    memoryBytes: limits.memoryBytes
      ? Math.ceil(limits.memoryBytes * limits.memoryFactor) +
        WRAPPER_MEMORY_BYTES
      : undefined,
    pids: JOB_PIDS_LIMIT,
  };
}

/**
 * The agent's usage source: cgroup v2 where the slot has a usable cgroup
 * of its own, else procfs; none when asked (`off`) or when procfs cannot
 * be read (then jobs run without limits, and the log says so loudly).
 *
 * @module
 */
import { CgroupSampler, probeCgroupV2 } from "../watchdog/cgroup_sampler.ts";
import { ProcfsSampler } from "../watchdog/procfs_sampler.ts";
import type { Sampler } from "../watchdog/sampler.ts";

/**
 * Starts the sampler `kind` asks for; throws when an explicit kind
 * (`cgroup`, `procfs`) is not available.
 *
 * @example
 * ```ts ignore
 * const sampler = await startSampler("auto", console.error);
 * sampler?.name; // "cgroup" or "procfs"
 * ```
 */
export async function startSampler(
  kind: "auto" | "procfs" | "cgroup" | "off",
  log: (line: string) => void,
): Promise<Sampler | undefined> {
  if (kind === "off") return undefined;
  if (kind !== "procfs") {
    const probe = await probeCgroupV2().catch((e) => ({
      usable: false,
      reason: (e as Error).message,
      slotDir: undefined,
    }));
    if (probe.usable) {
      log(`watchdog: ${probe.reason}`);
      return new CgroupSampler(probe.slotDir!);
    }
    if (kind === "cgroup") {
      throw new Error(`--sampler cgroup: ${probe.reason}`);
    }
    log(`watchdog: no cgroup v2 of our own (${probe.reason}); sampling procfs`);
  }
  try {
    return await ProcfsSampler.start();
  } catch (e) {
    if (kind === "procfs") throw e;
    // Jobs still run (and still die with their launcher), but nothing
    // enforces their limits: say so loudly rather than refuse the slot.
    log(
      `watchdog DISABLED: cannot start the procfs sampler (${
        (e as Error).message
      }); job limits are not enforced`,
    );
    return undefined;
  }
}

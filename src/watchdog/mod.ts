/**
 * The agent's watchdog (docs/ARCHITECTURE.md, "The watchdog"): samplers
 * of a wrapper's process tree (procfs; cgroup v2 where the slot has its own
 * cgroup), job limits with JAliEn's kill reasons, and the per-job
 * {@link Watchdog}.
 *
 * @example
 * ```ts ignore
 * import { jobLimits, ProcfsSampler, Watchdog } from "./mod.ts";
 * const sampler = await ProcfsSampler.start();
 * const dog = new Watchdog({
 *   sampler,
 *   tree: await sampler.watch(wrapper.pid, { sandbox }),
 *   sandbox,
 *   limits: jobLimits({ ttl: 3600, cpuCores: 1 }, { cores: 8 }),
 *   onViolation: (v) => cancelJob(v.reason, v.message),
 * });
 * dog.start();
 * // … when the wrapper has ended:
 * await dog.stop();
 * const usage = dog.usage(); // for the final report
 * await sampler.close();
 * ```
 *
 * @module
 */
export type {
  DirUsage,
  Sampler,
  TreeSignal,
  TreeUsage,
  WatchedTree,
} from "./sampler.ts";
export {
  PROCFS_SHELL,
  ProcfsSampler,
  type ProcfsSamplerOptions,
} from "./procfs_sampler.ts";
export {
  type CgroupProbe,
  CgroupSampler,
  interpretCgroupProbe,
  parseCgroupUsage,
  probeCgroupV2,
} from "./cgroup_sampler.ts";
export {
  checkLimits,
  CpuWindow,
  type JobLimitInput,
  type JobLimits,
  jobLimits,
  type LimitViolation,
  memoryKillBytes,
  type Observation,
  type SlotPolicy,
} from "./limits.ts";
export { Watchdog, type WatchdogOptions } from "./watchdog.ts";

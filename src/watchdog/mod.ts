/**
 * The agent's watchdog (docs/ARCHITECTURE.md, "The watchdog"): samplers of a wrapper's process tree
 * (procfs; cgroup v2 where the slot has its own cgroup), job limits with
 * JAliEn's kill reasons, and the per-job {@link Watchdog}.
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

/**
 * A job's limits (from its JDL and the slot) and the check of one
 * observation against them, with JAliEn's kill reason codes (docs/ARCHITECTURE.md, "Job states").
 * Pure: no processes, no clocks of its own.
 *
 * @module
 */
import { KillReason } from "../protocol/kill_reason.ts";

/** The JDL fields limits are derived from. */
export interface JobLimitInput {
  /** `TTL`, s. */
  ttl: number;
  /** `MemorySize`, bytes. */
  memorySize?: number;
  /** `WorkDirectorySize`, bytes. */
  workDirectorySize?: number;
  /** `CPUCores`. */
  cpuCores: number;
}

/** The slot the job runs in, and the site's policy. */
export interface SlotPolicy {
  /** Cores of the whole slot. */
  cores: number;
  /** Memory of the slot, bytes (0 = unknown). @default 0 */
  memory?: number;
  /** Disk of the slot, bytes (0 = unknown). @default 0 */
  disk?: number;
  /** Extra wall time beyond the TTL before the kill, s. @default 60 */
  ttlGraceSeconds?: number;
  /** Kill when memory exceeds this multiple of the limit. @default 1.2 */
  memoryFactor?: number;
  /** Window with no CPU progress that kills the job, s (0 = off). @default 3600 */
  lowCpuWindowSeconds?: number;
  /**
   * CPU seconds per wall second (of one core) below which the window
   * counts as "no progress". @default 0.01
   */
  lowCpuFraction?: number;
  /** Kill on core dumps in the sandbox. @default true */
  coreFiles?: boolean;
}

/** Limits of one job. */
export interface JobLimits {
  /** Wall time allowed (TTL + grace), s. */
  wallSeconds: number;
  /** The TTL itself, s (for messages). */
  ttlSeconds: number;
  /** Memory granted, bytes; undefined = unlimited. */
  memoryBytes?: number;
  /** Kill above `memoryFactor × memoryBytes`. */
  memoryFactor: number;
  /** Sandbox size allowed, bytes; undefined = unlimited. */
  diskBytes?: number;
  /** No-progress window, s (0 = off). */
  lowCpuWindowSeconds: number;
  /** Minimum CPU seconds per wall second over the window. */
  lowCpuFraction: number;
  /** Whether a core dump kills the job. */
  coreFiles: boolean;
}

/** Why the watchdog kills a job. */
export interface LimitViolation {
  /** A {@linkcode KillReason} code. */
  reason: number;
  /** For the job's trace (names the limit and the measured value). */
  message: string;
}

/** What the watchdog saw. */
export interface Observation {
  /** Wall time since the wrapper started, s. */
  wallSeconds: number;
  /** Memory of the tree (PSS, or RSS as its upper bound), bytes. */
  memoryBytes?: number;
  /** Whether `memoryBytes` is a PSS (false: RSS). */
  memoryIsPss?: boolean;
  /** Sandbox size, bytes. */
  diskBytes?: number;
  /** Core files in the sandbox. */
  coreFiles?: number;
  /** CPU seconds gained over the last low-CPU window, if it is full. */
  cpuOverWindow?: number;
}

/** Splits the slot among its cores: the job's share of a slot total. */
function share(total: number | undefined, slot: SlotPolicy, cores: number) {
  if (!total) return undefined;
  return Math.floor(total * Math.min(1, cores / Math.max(1, slot.cores)));
}

/**
 * The job's limits: JDL values where given, else the job's share of the
 * slot (by cores); wall time = TTL + grace.
 *
 * @example
 * ```ts
 * import { jobLimits } from "./limits.ts";
 * const limits = jobLimits(
 *   { ttl: 3600, cpuCores: 2, memorySize: 2 * 2 ** 30 },
 *   { cores: 8, ttlGraceSeconds: 60 },
 * );
 * limits.wallSeconds; // 3660
 * ```
 */
export function jobLimits(jdl: JobLimitInput, slot: SlotPolicy): JobLimits {
  const cores = Math.max(1, jdl.cpuCores);
  return {
    wallSeconds: jdl.ttl + (slot.ttlGraceSeconds ?? 60),
    ttlSeconds: jdl.ttl,
    memoryBytes: jdl.memorySize ?? share(slot.memory, slot, cores),
    memoryFactor: slot.memoryFactor ?? 1.2,
    diskBytes: jdl.workDirectorySize ?? share(slot.disk, slot, cores),
    lowCpuWindowSeconds: slot.lowCpuWindowSeconds ?? 3600,
    lowCpuFraction: slot.lowCpuFraction ?? 0.01,
    coreFiles: slot.coreFiles ?? true,
  };
}

/** The memory above which the job is killed, bytes (undefined: none). */
export function memoryKillBytes(limits: JobLimits): number | undefined {
  return limits.memoryBytes === undefined
    ? undefined
    : limits.memoryBytes * limits.memoryFactor;
}

const MB = 1024 * 1024;
const mb = (b: number) => `${(b / MB).toFixed(1)} MB`;

/**
 * The first limit `obs` breaks, or undefined; the violation carries the
 * kill reason code and a line for the job's trace.
 *
 * @example
 * ```ts
 * import { checkLimits, jobLimits } from "./limits.ts";
 * const limits = jobLimits({ ttl: 60, cpuCores: 1 }, { cores: 1 });
 * checkLimits(limits, { wallSeconds: 3600 })?.reason; // 20 (TTL)
 * ```
 */
export function checkLimits(
  limits: JobLimits,
  obs: Observation,
): LimitViolation | undefined {
  if (limits.coreFiles && (obs.coreFiles ?? 0) > 0) {
    return {
      reason: KillReason.CORE_FILE,
      message: `core dump in the sandbox (${obs.coreFiles} core file${
        obs.coreFiles === 1 ? "" : "s"
      }) (kill reason ${KillReason.CORE_FILE})`,
    };
  }
  const memKill = memoryKillBytes(limits);
  if (
    memKill !== undefined && obs.memoryBytes !== undefined &&
    obs.memoryBytes > memKill
  ) {
    return {
      reason: KillReason.MEMORY,
      message: `memory ${mb(obs.memoryBytes)} ${
        obs.memoryIsPss === false ? "RSS" : "PSS"
      } exceeds ${limits.memoryFactor} × ${
        mb(limits.memoryBytes!)
      } (kill reason ${KillReason.MEMORY})`,
    };
  }
  if (
    limits.diskBytes !== undefined && obs.diskBytes !== undefined &&
    obs.diskBytes > limits.diskBytes
  ) {
    return {
      reason: KillReason.DISK,
      message: `sandbox uses ${mb(obs.diskBytes)}, WorkDirectorySize is ${
        mb(limits.diskBytes)
      } (kill reason ${KillReason.DISK})`,
    };
  }
  if (obs.wallSeconds > limits.wallSeconds) {
    return {
      reason: KillReason.TTL,
      message: `TTL exceeded: ran ${
        Math.floor(obs.wallSeconds)
      } s, TTL ${limits.ttlSeconds} s + grace ${
        limits.wallSeconds - limits.ttlSeconds
      } s (kill reason ${KillReason.TTL})`,
    };
  }
  if (
    limits.lowCpuWindowSeconds > 0 && obs.cpuOverWindow !== undefined &&
    obs.cpuOverWindow < limits.lowCpuFraction * limits.lowCpuWindowSeconds
  ) {
    return {
      reason: KillReason.LOW_CPU,
      message: `no CPU progress: ${
        obs.cpuOverWindow.toFixed(2)
      } CPU s in the last ${limits.lowCpuWindowSeconds} s (kill reason ${KillReason.LOW_CPU})`,
    };
  }
  return undefined;
}

/**
 * CPU progress over a sliding window: feed it (time, CPU seconds) samples;
 * it answers how much CPU the last full window saw.
 */
export class CpuWindow {
  #window: number;
  #samples: { at: number; cpu: number }[] = [];

  /** A window of `seconds`. */
  constructor(seconds: number) {
    this.#window = seconds * 1000;
  }

  /** Forgets history (e.g. when the payload starts). */
  reset(): void {
    this.#samples = [];
  }

  /**
   * Adds a sample (ms since epoch, cumulative CPU seconds) and returns the
   * CPU gained since the window began, once the window is full.
   */
  add(at: number, cpu: number): number | undefined {
    if (this.#window <= 0) return undefined;
    this.#samples.push({ at, cpu });
    // Keep one sample at or before the window start as the baseline.
    while (
      this.#samples.length > 1 && this.#samples[1].at <= at - this.#window
    ) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    if (at - first.at < this.#window) return undefined;
    return cpu - first.cpu;
  }
}

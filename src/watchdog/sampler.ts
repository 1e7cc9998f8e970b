/**
 * The sampler interface (docs/ARCHITECTURE.md, "The watchdog"): how the watchdog learns what a
 * wrapper's process tree uses, and how it signals that tree. One
 * implementation per source: procfs ({@link ./procfs_sampler.ts}) and
 * cgroup v2 ({@link ./cgroup_sampler.ts}).
 *
 * @module
 */

/** Resources of one process tree at one moment. */
export interface TreeUsage {
  /** When it was taken, ms since epoch. */
  at: number;
  /** Live processes in the tree (0: the tree is gone). */
  processes: number;
  /** Threads of those processes. */
  threads: number;
  /** CPU time of the tree, s: live processes plus the children they reaped. */
  cpuSeconds: number;
  /** Resident set size, bytes (shared pages counted in every process). */
  rssBytes: number;
  /**
   * Proportional set size, bytes (shared pages split among their users);
   * undefined when not read this time (it costs more than RSS, which is
   * its upper bound).
   */
  pssBytes?: number;
}

/** Size of a sandbox and the core dumps in it. */
export interface DirUsage {
  /** Disk blocks used, bytes. */
  diskBytes: number;
  /** Core dump files found (`core`, `core.<n>`). */
  coreFiles: number;
  /** Size of the largest one, bytes. */
  largestCoreBytes: number;
}

/** A signal the watchdog sends. */
export type TreeSignal = "TERM" | "KILL";

/** One watched process tree. */
export interface WatchedTree {
  /**
   * Samples the tree now; `pss: false` skips the PSS read, `discover:
   * true` looks for new members even if the sampler would not yet.
   */
  sample(opts?: { pss?: boolean; discover?: boolean }): Promise<TreeUsage>;
  /**
   * Signals every process of the tree, and every process group that lies
   * entirely inside it; `includeRoot: false` spares the root (e.g. the
   * container launcher, whose death would skip the payload's TERM).
   * Returns how many processes were signalled.
   */
  signal(signal: TreeSignal, opts?: { includeRoot?: boolean }): Promise<number>;
  /** Stops watching (and guarding) the tree. */
  release(): Promise<void>;
}

/** A source of usage samples. */
export interface Sampler {
  /** `procfs` or `cgroup`. */
  readonly name: string;
  /**
   * Starts watching the tree rooted at `pid` (a child of ours). With
   * `sandbox`, processes working in it count as the tree's too when it is
   * signalled (a payload that escaped the tree before it was ever sampled).
   */
  watch(
    pid: number,
    opts?: { cgroup?: string; sandbox?: string },
  ): Promise<WatchedTree>;
  /** Disk use and core files of a sandbox. */
  dirUsage(dir: string): Promise<DirUsage>;
  /** Stops the sampler (and anything it runs). */
  close(): Promise<void>;
}

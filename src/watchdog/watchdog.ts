/**
 * The per-job watchdog: samples a wrapper's process tree and sandbox at a
 * fixed interval, keeps the job's usage (for heartbeats and accounting)
 * and reports the first limit the job breaks.
 *
 * Costs are kept low on purpose (the goal is ≤ 1% of a core at 1 Hz
 * for 200 processes): process stats every tick; PSS (a page-table walk per
 * process) only when RSS — its upper bound — could break the memory limit,
 * when RSS reaches a new high (PSS might too), or when the usage is about
 * to be reported; the sandbox (`du` + `find`) at most every 5 s.
 *
 * @module
 */
import type { Usage } from "../protocol/usage.ts";
import {
  checkLimits,
  CpuWindow,
  type JobLimits,
  type LimitViolation,
  memoryKillBytes,
} from "./limits.ts";
import type { Sampler, TreeUsage, WatchedTree } from "./sampler.ts";

/** Options of {@link Watchdog}. */
export interface WatchdogOptions {
  /** The sampler (shared by all jobs of the agent). */
  sampler: Sampler;
  /** The wrapper's tree. */
  tree: WatchedTree;
  /** Host path of the sandbox. */
  sandbox: string;
  /** The job's limits. */
  limits: JobLimits;
  /** Called once, with the first limit broken. */
  onViolation: (v: LimitViolation) => void;
  /** Sampling interval, ms. @default 5000 */
  intervalMs?: number;
  /** Sandbox check interval, ms. @default max(intervalMs, 5000) */
  diskIntervalMs?: number;
  /** Longest time between two PSS reads, ms. @default 60000 */
  pssIntervalMs?: number;
  /** Sampling errors (the watchdog keeps going). @default ignored */
  onError?: (e: Error) => void;
}

/**
 * Samples one job's process tree and sandbox on a timer, keeps its usage
 * (max PSS, CPU, wall, disk) and calls `onViolation` once with the first
 * limit it breaks; the caller runs the kill sequence.
 *
 * @example
 * ```ts ignore
 * const dog = new Watchdog({ sampler, tree, sandbox, limits, onViolation });
 * dog.start();
 * dog.stage("RUNNING"); // low-CPU checks start with the payload
 * await dog.stop();
 * dog.usage().cpuSeconds;
 * ```
 */
export class Watchdog {
  #o: WatchdogOptions;
  #started = Date.now();
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #busy?: Promise<void>;
  #last?: TreeUsage;
  #pss = 0;
  #maxPss = 0;
  #pssAt = 0;
  #rssAtMaxPss = 0;
  #disk = 0;
  #diskAt = 0;
  #cores = 0;
  #cpuWindow: CpuWindow;
  #running = false;
  #violated = false;
  #discover = 0;

  /** Creates the watchdog; call {@link start}. */
  constructor(opts: WatchdogOptions) {
    this.#o = opts;
    this.#cpuWindow = new CpuWindow(opts.limits.lowCpuWindowSeconds);
  }

  /** Starts sampling (ticks aligned to the interval, so jobs share scans). */
  start(): void {
    this.#started = Date.now();
    this.#schedule();
  }

  #schedule() {
    if (this.#stopped) return;
    const every = this.#o.intervalMs ?? 5000;
    const wait = every - (Date.now() % every);
    this.#timer = setTimeout(() => {
      this.#busy = this.#tick().finally(() => {
        this.#busy = undefined;
        this.#schedule();
      });
    }, wait);
  }

  /** The stage the wrapper reported; the low-CPU window starts at RUNNING. */
  stage(state: string): void {
    // New stage, new processes: look for them at the next ticks.
    this.#discover = 2;
    const running = state === "RUNNING";
    if (running && !this.#running) this.#cpuWindow.reset();
    this.#running = running;
  }

  /** Samples now (PSS and sandbox included) and checks the limits. */
  async sampleNow(): Promise<void> {
    await this.#busy;
    await this.#tick(true);
  }

  async #tick(full = false): Promise<void> {
    if (this.#stopped) return;
    try {
      const o = this.#o;
      const now = Date.now();
      const kill = memoryKillBytes(o.limits);
      // First a cheap sample; PSS only if it can matter.
      const discover = full || this.#discover > 0;
      if (this.#discover > 0) this.#discover--;
      let u = await o.tree.sample({ pss: false, discover });
      const needPss = full ||
        (kill !== undefined && u.rssBytes > kill) ||
        // PSS ≤ RSS: only a clearly higher RSS can mean a new PSS high.
        u.rssBytes > this.#rssAtMaxPss * 1.05 ||
        now - this.#pssAt >= (o.pssIntervalMs ?? 60000);
      if (needPss && u.processes > 0) {
        u = await o.tree.sample({ pss: true });
        this.#pss = u.pssBytes ?? u.rssBytes;
        this.#pssAt = now;
        if (this.#pss >= this.#maxPss) {
          this.#maxPss = this.#pss;
          this.#rssAtMaxPss = u.rssBytes;
        }
      }
      if (u.processes > 0) this.#last = u;
      let cores: number | undefined;
      const diskEvery = o.diskIntervalMs ??
        Math.max(o.intervalMs ?? 5000, 5000);
      if (full || now - this.#diskAt >= diskEvery - 50) {
        const d = await o.sampler.dirUsage(o.sandbox);
        this.#disk = d.diskBytes;
        this.#diskAt = now;
        cores = d.coreFiles;
        this.#cores = d.coreFiles;
      }
      const cpuOverWindow = this.#running
        ? this.#cpuWindow.add(now, u.cpuSeconds)
        : undefined;
      if (this.#violated || this.#stopped || u.processes === 0) return;
      const v = checkLimits(o.limits, {
        wallSeconds: (now - this.#started) / 1000,
        // Unmeasured PSS means RSS, its upper bound, was under the limit.
        memoryBytes: u.pssBytes,
        memoryIsPss: true,
        diskBytes: this.#disk,
        coreFiles: cores,
        cpuOverWindow,
      });
      if (v) {
        this.#violated = true;
        o.onViolation(v);
      }
    } catch (e) {
      this.#o.onError?.(e as Error);
    }
  }

  /** Usage so far, in the broker's shape (memory as PSS). */
  usage(): Usage {
    return {
      cpuSeconds: round(this.#last?.cpuSeconds ?? 0, 2),
      rssBytes: this.#pss,
      maxRssBytes: this.#maxPss,
      wallSeconds: round((Date.now() - this.#started) / 1000, 1),
      diskBytes: this.#disk,
    };
  }

  /** The last tree sample (undefined before the first). */
  get last(): TreeUsage | undefined {
    return this.#last;
  }

  /** Core files seen at the last sandbox check. */
  get coreFiles(): number {
    return this.#cores;
  }

  /** Stops sampling (waits for a sample in flight). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy;
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

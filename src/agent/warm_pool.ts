/**
 * Pre-started wrappers (README "Performance"): while the agent matches, or
 * while its previous job runs, it starts the next wrapper — container up,
 * Deno running, modules loaded, sandbox prepared — up to its `hello`
 * frame. A matched job whose launch has the same shape then only needs the
 * `start` frame.
 *
 * What a wrapper's launch depends on, besides its sandbox, is its
 * {@link WarmShape}: the image, the programs it may run (its
 * `--allow-run`), the kernel limits. A pre-started wrapper is built for
 * the shape of the job before it (jobs of one production look alike); a
 * job of another shape gets a cold start, and the idle wrapper is
 * replaced by one of the new shape. Either way a job's wrapper has exactly
 * the flags and mounts a cold start would give it.
 *
 * An idle wrapper holds nothing secret: the job token only ever comes in
 * the `start` frame. It waits for that frame with a long timeout of its
 * own and exits when its stdin closes: {@link WarmPool.close} (the agent
 * exits, the slot ends) closes it, waits, then kills it, drops its lease
 * and removes its sandbox. When the agent dies, the kernel closes the
 * pipe and the wrapper exits by itself; the sandbox sweeper of the next
 * agent removes what is left.
 *
 * @module
 */
import type { ContainerDriver, LaunchSpec } from "../container/driver.ts";
import {
  type Frame,
  FrameType,
  readFrames,
  readFrameWithTimeout,
} from "../pipe/mod.ts";
import { signalOwnGroup } from "../watchdog/verified_kill.ts";
import { spawnWrapper, type WrapperProcess } from "./wrapper_process.ts";
import {
  type Launch,
  type LaunchHold,
  prepareLaunch,
} from "./wrapper_launch.ts";

/** What a wrapper's launch depends on besides its sandbox. */
export interface WarmShape {
  /** Directory rootfs, if any. */
  image?: string;
  /** The job's image reference (JDL `Container`). */
  imageRef?: string;
  /** Programs the payload may run (its `--allow-run`, see programs.ts). */
  payload: string[];
  /** Kernel-enforced limits (runtimes that take them). */
  resources?: LaunchSpec["resources"];
  /** The payload's network (`none`: a network namespace of its own). */
  network?: "none" | "host";
}

/** A started wrapper that said `hello` and waits for `start`. */
export interface WarmWrapper {
  /** Host path of its sandbox. */
  sandbox: string;
  /** How it was launched. */
  launch: Launch;
  /** The lease (and driver preparation) it holds. */
  hold: LaunchHold;
  /** The launcher process (its stderr already goes on to the agent's). */
  proc: WrapperProcess;
  /** Its stdout, positioned after `hello`. */
  frames: AsyncIterableIterator<Frame>;
  /** Its `hello` frame. */
  hello: Frame;
}

/** Options of {@link WarmPool}. */
export interface WarmPoolOptions {
  /** The runtime. */
  driver: ContainerDriver;
  /** Work root: idle sandboxes are created below it. */
  workRoot: string;
  /**
   * Builds the launch of a wrapper for `sandbox` and `shape`, with
   * `extraArgs` for the wrapper (the agent's own launch builder, so warm
   * and cold launches cannot drift apart).
   */
  build: (sandbox: string, shape: WarmShape, extraArgs: string[]) => Launch;
  /** Whether the launcher needs a group kill (no pid namespace). */
  groupKill: boolean;
  /** Log sink. */
  log: (line: string) => void;
  /** How long a pre-started wrapper waits for `hello`, ms. @default 30000 */
  helloTimeoutMs?: number;
  /** How long an idle wrapper waits for `start`, ms. @default 3600000 */
  idleTimeoutMs?: number;
}

/** The key of a shape: equal keys launch alike. */
export function shapeKey(s: WarmShape): string {
  return JSON.stringify([
    s.image ?? null,
    s.imageRef ?? null,
    [...s.payload].sort(),
    s.resources ?? null,
    s.network ?? "host",
  ]);
}

interface Slot {
  key: string;
  ready: Promise<WarmWrapper | undefined>;
  exited: boolean;
}

/** Sandboxes of pre-started wrappers: `job-warm<seq>-<pid>-<seq>`. */
let warmSeq = 0;

/** See the module doc. */
export class WarmPool {
  #o: WarmPoolOptions;
  #idle: Slot | undefined;
  #closed = false;
  #teardowns = new Set<Promise<void>>();
  /** Jobs that found a pre-started wrapper of their shape. */
  hits = 0;
  /** Jobs that needed a cold start. */
  misses = 0;

  /** A pool for one agent's runtime. */
  constructor(opts: WarmPoolOptions) {
    this.#o = opts;
  }

  /**
   * Starts a wrapper of `shape` in the background unless one of that
   * shape is idle already; an idle one of another shape is stopped.
   */
  prestart(shape: WarmShape): void {
    if (this.#closed) return;
    const key = shapeKey(shape);
    if (this.#idle && this.#idle.key === key && !this.#idle.exited) return;
    this.#discard(this.#idle);
    const slot: Slot = {
      key,
      ready: Promise.resolve(undefined),
      exited: false,
    };
    slot.ready = this.#start(shape, slot).catch((e) => {
      this.#o.log(`pre-start failed: ${(e as Error).message}`);
      return undefined;
    });
    this.#idle = slot;
  }

  /**
   * The idle wrapper when it has `shape` (waiting for one still starting),
   * else `undefined` (cold start; the idle one of another shape is
   * stopped). The caller owns what it gets: sandbox, lease, process.
   */
  async take(shape: WarmShape): Promise<WarmWrapper | undefined> {
    const slot = this.#idle;
    this.#idle = undefined;
    if (!slot || slot.key !== shapeKey(shape) || this.#closed) {
      this.#discard(slot);
      this.misses++;
      return undefined;
    }
    const w = await slot.ready;
    if (!w || slot.exited) {
      this.#discard(slot);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return w;
  }

  /** Waits until the idle wrapper (if any) said hello; whether one did. */
  async idle(): Promise<boolean> {
    const slot = this.#idle;
    return slot !== undefined && (await slot.ready) !== undefined &&
      !slot.exited;
  }

  /** Stops the idle wrapper and waits until every stop is over. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#discard(this.#idle);
    this.#idle = undefined;
    await Promise.all([...this.#teardowns]);
  }

  async #start(shape: WarmShape, slot: Slot): Promise<WarmWrapper | undefined> {
    const seq = ++warmSeq;
    const sandbox = `${this.#o.workRoot}/job-warm${seq}-${Deno.pid}-${seq}`;
    await Deno.mkdir(sandbox, { mode: 0o700 });
    let hold: LaunchHold | undefined;
    let proc: WrapperProcess | undefined;
    let frames: AsyncIterableIterator<Frame> | undefined;
    try {
      const launch = this.#o.build(sandbox, shape, [
        "--start-timeout",
        String(this.#o.idleTimeoutMs ?? 3_600_000),
        "--prestarted",
      ]);
      hold = await prepareLaunch(this.#o.driver, launch);
      proc = spawnWrapper(launch, sandbox, this.#o.groupKill);
      proc.child.status.then(
        () => slot.exited = true,
        () => slot.exited = true,
      );
      frames = readFrames(proc.child.stdout);
      const hello = await readFrameWithTimeout(
        frames,
        this.#o.helloTimeoutMs ?? 30000,
        "hello",
      );
      if (!hello || hello.type !== FrameType.Hello) {
        throw new Error(
          `the wrapper sent ${hello ? `a ${hello.type} frame` : "nothing"}`,
        );
      }
      return { sandbox, launch, hold, proc, frames, hello };
    } catch (e) {
      await this.#stop({ sandbox, hold, proc, frames });
      throw e;
    }
  }

  #discard(slot: Slot | undefined): void {
    if (!slot) return;
    const t = slot.ready.then((w) => w && this.#stop(w)).catch(() => {});
    this.#teardowns.add(t);
    t.finally(() => this.#teardowns.delete(t));
  }

  /** Closes its stdin (it exits), kills it if it lingers, cleans up. */
  async #stop(
    w: {
      sandbox: string;
      hold?: LaunchHold;
      proc?: WrapperProcess;
      frames?: AsyncIterableIterator<Frame>;
    },
  ): Promise<void> {
    const child = w.proc?.child;
    if (child) {
      await child.stdin.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), 5000)),
      ]);
      clearTimeout(timer);
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        if (this.#o.groupKill) {
          await signalOwnGroup("KILL", child.pid).catch(() => {});
        }
        await child.status;
      }
      if (w.frames) await w.frames.return?.().catch(() => {});
      else await child.stdout.cancel().catch(() => {});
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        w.proc!.stderrDone,
        new Promise((r) => t = setTimeout(r, 1000)),
      ]);
      clearTimeout(t);
    }
    await w.hold?.release().catch(() => {});
    await Deno.remove(w.sandbox, { recursive: true }).catch(() => {});
  }
}

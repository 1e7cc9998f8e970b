/**
 * The procfs sampler: a wrapper's whole process tree from `/proc` — CPU
 * time and threads from `stat`, RSS from `stat`, PSS from `smaps_rollup` —
 * plus sandbox size and core files, all read through one coprocess shell
 * (Deno itself may not read `/proc` without `--allow-all`).
 *
 * The tree is every descendant of the wrapper, plus every process seen in
 * it at the last sample that is still alive (same pid and start time):
 * payloads that daemonize or outlive a dead wrapper are still the job's.
 *
 * @module
 */
import {
  collectTree,
  containedGroups,
  parsePssLines,
  parseStatScan,
  type ProcessKey,
  type ProcStat,
} from "./_proc_stat.ts";
import { ProcfsShell } from "./_procfs_shell.ts";
import { parseDirUsage } from "./_dir_usage.ts";
import type {
  DirUsage,
  Sampler,
  TreeSignal,
  TreeUsage,
  WatchedTree,
} from "./sampler.ts";

export { PROCFS_SHELL } from "./_procfs_shell.ts";

const DEAD = new Set(["Z", "X", "x"]);

/** Options of {@link ProcfsSampler.start}. */
export interface ProcfsSamplerOptions {
  /** Read PSS from `smaps_rollup` when asked to. @default true */
  pss?: boolean;
  /** Trees sampled within this many ms share one `/proc` scan. @default 250 */
  scanCacheMs?: number;
  /**
   * How often a sample scans every process to find new members, ms; in
   * between it reads only the known members' stats (a scan costs as much
   * as the node has processes, a member read as much as the tree).
   * @default 5000
   */
  discoverMs?: number;
  /** The coprocess shell. @default "/bin/sh" */
  shell?: string;
}

/**
 * Samples process trees through `/proc`, read by one long-lived `/bin/sh`
 * coprocess (Deno refuses `/proc` to restricted processes); the coprocess
 * also kills every guarded tree if the agent dies.
 *
 * @example
 * ```ts ignore
 * import { ProcfsSampler } from "./procfs_sampler.ts";
 * const sampler = await ProcfsSampler.start();
 * const tree = await sampler.watch(child.pid, { sandbox });
 * const usage = await tree.sample(); // CPU, RSS, processes
 * await sampler.close();
 * ```
 */
export class ProcfsSampler implements Sampler {
  /** Sampler name, shown in logs and accounting: reads `/proc` via a shell. */
  readonly name = "procfs";
  #shell: ProcfsShell;
  #ticks: number;
  #page: number;
  #pss: boolean;
  #cacheMs: number;
  #discoverMs: number;
  #shellPath?: string;
  #closing = false;
  #scan?: { at: number; procs: Promise<Map<number, ProcStat>> };
  #guarded = new Map<
    object,
    { members: ProcessKey[]; sandbox?: string }
  >();
  #guardSent = "";

  private constructor(
    shell: ProcfsShell,
    ticks: number,
    page: number,
    opts: ProcfsSamplerOptions,
  ) {
    this.#shell = shell;
    this.#ticks = ticks;
    this.#page = page;
    this.#pss = opts.pss ?? true;
    this.#cacheMs = opts.scanCacheMs ?? 250;
    this.#discoverMs = opts.discoverMs ?? 5000;
    this.#shellPath = opts.shell;
  }

  /** Starts the coprocess and reads the clock tick rate and page size. */
  static async start(opts: ProcfsSamplerOptions = {}): Promise<ProcfsSampler> {
    const shell = new ProcfsShell({ shell: opts.shell });
    try {
      const [ticks, page] = (await shell.request("conf")).trim().split("\n")
        .map(Number);
      if (!(ticks > 0) || !(page > 0)) {
        throw new Error(`getconf gave CLK_TCK ${ticks}, PAGESIZE ${page}`);
      }
      return new ProcfsSampler(shell, ticks, page, opts);
    } catch (e) {
      await shell.close().catch(() => {});
      throw e;
    }
  }

  /** Bytes per page (RSS in `/proc/<pid>/stat` is in pages). */
  get pageSize(): number {
    return this.#page;
  }

  /** The coprocess's pid (benchmarks measure its CPU). */
  get shellPid(): number {
    return this.#shell.pid;
  }

  /** Every process on the node (`/proc/[0-9]*\/stat`), possibly cached. */
  scan(fresh = false): Promise<Map<number, ProcStat>> {
    const now = Date.now();
    if (fresh || !this.#scan || now - this.#scan.at > this.#cacheMs) {
      const procs = this.#req("scan").then(parseStatScan);
      this.#scan = { at: now, procs };
      procs.catch(() => this.#scan = undefined);
    }
    return this.#scan.procs;
  }

  /** CPU seconds (self + reaped children) of the coprocess itself. */
  async selfCpuSeconds(): Promise<number> {
    const s = parseStatScan(await this.#req("self"));
    const me = s.get(this.#shell.pid);
    return me ? (me.cpuTicks + me.childTicks) / this.#ticks : 0;
  }

  /**
   * Starts watching `pid`'s tree: its members are the root and its
   * descendants, found by parentage on every scan and kept by
   * (pid, start time) so a recycled pid is never mistaken for a member.
   */
  async watch(
    pid: number,
    opts: { sandbox?: string } = {},
  ): Promise<WatchedTree> {
    const procs = await this.scan(true);
    const root = procs.get(pid);
    const rootKey: ProcessKey = { pid, startTime: root?.startTime ?? -1 };
    let members: ProcessKey[] = root ? [rootKey] : [];
    let maxCpu = 0;
    let discovered = 0;
    const token = {};
    const tree = (p: Map<number, ProcStat>, extra: ProcessKey[] = []) =>
      collectTree(p, [rootKey, ...members, ...extra]);
    const remember = async (list: ProcStat[]) => {
      members = list.map((m) => ({ pid: m.pid, startTime: m.startTime }));
      await this.#guard(token, members, opts.sandbox);
    };
    // Processes working in the sandbox, whatever their parents.
    const inSandbox = async (p: Map<number, ProcStat>) => {
      if (!opts.sandbox) return [];
      const text = await this.#req("cwd", [opts.sandbox]);
      const keys: ProcessKey[] = [];
      for (const m of text.matchAll(/^\/proc\/(\d+)$/gm)) {
        const s = p.get(Number(m[1]));
        if (s && s.pid !== this.#shell.pid) {
          keys.push({ pid: s.pid, startTime: s.startTime });
        }
      }
      return keys;
    };
    await remember(root ? [root] : []);
    return {
      sample: async (opts = {}): Promise<TreeUsage> => {
        const now = Date.now();
        let p: Map<number, ProcStat>;
        if (opts.discover || now - discovered >= this.#discoverMs) {
          // Asked to look: a scan shared from before would not show more.
          p = await this.scan(opts.discover);
          discovered = now;
        } else {
          p = parseStatScan(
            await this.#req(
              "stats",
              members.map((m) => `/proc/${m.pid}/stat`),
            ),
          );
        }
        const all = tree(p);
        await remember(all);
        // Zombies still carry CPU time until reaped, but no memory.
        const live = all.filter((m) => !DEAD.has(m.state));
        let ticks = 0, threads = 0, pages = 0;
        for (const m of all) ticks += m.cpuTicks + m.childTicks;
        for (const m of live) {
          threads += m.threads;
          pages += m.rssPages;
        }
        maxCpu = Math.max(maxCpu, ticks / this.#ticks);
        const rssBytes = pages * this.#page;
        let pssBytes: number | undefined;
        if (this.#pss && (opts.pss ?? true)) {
          pssBytes = live.length === 0 ? 0 : parsePssLines(
            await this.#req(
              "pss",
              live.map((m) => `/proc/${m.pid}/smaps_rollup`),
            ),
          );
        }
        return {
          at: Date.now(),
          processes: live.length,
          threads,
          cpuSeconds: maxCpu,
          rssBytes,
          pssBytes,
        };
      },
      signal: async (signal: TreeSignal, o = {}) => {
        const p = await this.scan(true);
        const all = tree(p, await inSandbox(p));
        await remember(all);
        let list = all.filter((m) => !DEAD.has(m.state));
        if (o.includeRoot === false) {
          list = list.filter((m) => m.pid !== pid);
        }
        if (list.length === 0) return 0;
        const groups = containedGroups(p, list).map((g) => `-${g}`);
        await this.#req("kill", [
          signal,
          ...groups,
          ...list.map((m) => m.pid),
        ]);
        return list.length;
      },
      release: async () => {
        this.#guarded.delete(token);
        await this.#sendGuard();
      },
    };
  }

  /** Size of `dir` and the core files in it, from the shell's `du`/`find`. */
  async dirUsage(dir: string): Promise<DirUsage> {
    return parseDirUsage(await this.#req("disk", [dir]));
  }

  /** A request; a shell that died or hung is replaced (and re-armed). */
  async #req(
    command: string,
    args: readonly (string | number)[] = [],
  ): Promise<string> {
    if (this.#shell.closed && !this.#closing) {
      await this.#shell.close().catch(() => {});
      this.#shell = new ProcfsShell({ shell: this.#shellPath });
      this.#scan = undefined;
      if (command !== "guard") {
        this.#guardSent = "";
        await this.#sendGuard();
      } else this.#guardSent = args.join(" ");
    }
    return await this.#shell.request(command, args);
  }

  async #guard(token: object, members: ProcessKey[], sandbox?: string) {
    this.#guarded.set(token, { members, sandbox });
    await this.#sendGuard();
  }

  async #sendGuard() {
    const words: string[] = [];
    for (const g of this.#guarded.values()) {
      for (const k of g.members) words.push(`${k.pid}:${k.startTime}`);
      if (g.sandbox) words.push(g.sandbox);
    }
    const line = words.join(" ");
    if (line === this.#guardSent) return;
    this.#guardSent = line;
    await this.#req("guard", words);
  }

  /** Ends the shell; the processes it guarded are killed with it. */
  async close(): Promise<void> {
    this.#guarded.clear();
    this.#closing = true;
    await this.#sendGuard().catch(() => {});
    await this.#shell.close();
  }
}

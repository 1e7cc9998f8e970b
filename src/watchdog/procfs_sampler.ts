/**
 * The procfs sampler: a wrapper's whole process tree from `/proc` — CPU
 * time and threads from `stat`, RSS from `stat`, PSS from `smaps_rollup` —
 * read through one coprocess helper (Deno itself may not read `/proc`
 * without `--allow-all`); the sandbox through the `splitpilot-du` helper.
 *
 * Every stat file is read whole and parsed at its last `)`, so a payload
 * naming itself "x\n<pid> (" neither hides nor adds a process. Signals go
 * through the `splitpilot-kill` helper, which checks each target's start
 * time and pid namespace again right before it signals; the init of the
 * job's pid namespace is killed first, which ends the whole namespace.
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
import { probeDirUsage } from "./dir_probe.ts";
import { type KillTarget, signalVerified } from "./verified_kill.ts";
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
  /** The procfs helper. @default the shipped `splitpilot-procfs` */
  shell?: string;
}

/** Samples process trees through `/proc`. */
export class ProcfsSampler implements Sampler {
  /** @inheritdoc */
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

  /** @inheritdoc */
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
    // Pid namespace of each member, read once when it is first seen.
    const ns = new Map<string, number | undefined>();
    const id = (m: ProcessKey) => `${m.pid}:${m.startTime}`;
    const remember = async (list: ProcStat[]) => {
      members = list.map((m) => ({ pid: m.pid, startTime: m.startTime }));
      const fresh = members.filter((m) => !ns.has(id(m)));
      if (fresh.length > 0) {
        const found = parseNsAnswer(
          await this.#req("ns", fresh.map((m) => m.pid)),
        );
        for (const m of fresh) ns.set(id(m), found.get(m.pid));
      }
      const alive = new Set(members.map(id));
      for (const k of ns.keys()) if (!alive.has(k)) ns.delete(k);
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
        await signalVerified(
          signal,
          killTargets(p, list, (m) => ns.get(id(m))),
        );
        return list.length;
      },
      release: async () => {
        this.#guarded.delete(token);
        await this.#sendGuard();
      },
    };
  }

  /** @inheritdoc */
  dirUsage(dir: string): Promise<DirUsage> {
    return probeDirUsage(dir);
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

  /** @inheritdoc */
  async close(): Promise<void> {
    this.#guarded.clear();
    this.#closing = true;
    await this.#sendGuard().catch(() => {});
    await this.#shell.close();
  }
}

/** Parses the helper's `ns` answer (`/proc/<pid>/ns pid:[<inode>]`). */
export function parseNsAnswer(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^\/proc\/(\d+)\/ns pid:\[(\d+)\]$/gm)) {
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

/**
 * The kill helper's targets for `list` (the job's live processes): first
 * the inits of pid namespaces inside the job (a member whose namespace is
 * not its parent's; SIGKILL to one ends its whole namespace), then the
 * process groups that lie entirely inside the job and whose leader is a
 * member, then every member by itself. Each names pid, start time and
 * namespace, which the helper checks again.
 */
export function killTargets(
  procs: ReadonlyMap<number, ProcStat>,
  list: readonly ProcStat[],
  nsOf: (m: ProcStat) => number | undefined,
): KillTarget[] {
  const byPid = new Map(list.map((m) => [m.pid, m]));
  const target = (m: ProcStat, group = false): KillTarget => ({
    pid: m.pid,
    startTime: m.startTime,
    ns: nsOf(m),
    group,
  });
  const inits: KillTarget[] = [];
  const rest: KillTarget[] = [];
  for (const m of list) {
    if (m.pid <= 1) continue;
    const parent = byPid.get(m.ppid);
    const mine = nsOf(m);
    const isInit = parent !== undefined && mine !== undefined &&
      nsOf(parent) !== undefined && nsOf(parent) !== mine;
    (isInit ? inits : rest).push(target(m));
  }
  const groups = containedGroups(procs, list)
    .map((g) => byPid.get(g))
    .filter((m): m is ProcStat => m !== undefined && m.pgid === m.pid)
    .map((m) => target(m, true));
  return [...inits, ...groups, ...rest];
}

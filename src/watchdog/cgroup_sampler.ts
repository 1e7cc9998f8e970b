/**
 * The cgroup v2 sampler: where the slot has its own, writable cgroup v2
 * directory with controllers delegated to its children, each job gets a
 * child cgroup; usage comes from its `cpu.stat` and `memory.*` files and
 * `cgroup.kill` stops everything in it, however it forked.
 *
 * {@link probeCgroupV2} only looks; nothing here creates or changes a
 * cgroup unless the probe said the slot's own cgroup is usable. On hosts
 * with hybrid v1 hierarchies (like our VMs, whose cgroups belong to the
 * machine's own supervisor) the probe says no and the agent samples procfs.
 *
 * @module
 */
import { ProcfsShell } from "./_procfs_shell.ts";
import { parseStatScan } from "./_proc_stat.ts";
import { probeDirUsage } from "./dir_probe.ts";
import { signalVerified } from "./verified_kill.ts";
import type {
  DirUsage,
  Sampler,
  TreeSignal,
  TreeUsage,
  WatchedTree,
} from "./sampler.ts";

/** What {@link probeCgroupV2} found. */
export interface CgroupProbe {
  /** Whether job cgroups can be made under the slot's cgroup. */
  usable: boolean;
  /** One line: why (not). */
  reason: string;
  /** The slot's cgroup directory, when usable. */
  slotDir?: string;
}

/** Interprets the shell's `cgprobe` answer (pure; tested on text). */
export function interpretCgroupProbe(text: string): CgroupProbe {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    const k = sp < 0 ? line : line.slice(0, sp);
    if (k && !fields.has(k)) fields.set(k, sp < 0 ? "" : line.slice(sp + 1));
  }
  const fstype = fields.get("fstype") ?? "";
  if (fstype !== "cgroup2fs") {
    return {
      usable: false,
      reason: `/sys/fs/cgroup is ${
        fstype || "missing"
      }, not a unified cgroup v2 hierarchy (hybrid or v1)`,
    };
  }
  const dir = fields.get("dir") ?? "";
  if (!dir || dir === "/sys/fs/cgroup" || dir === "/sys/fs/cgroup/") {
    return {
      usable: false,
      reason: "the agent runs in the root cgroup, not a slot cgroup of its own",
    };
  }
  if (!fields.has("writable")) {
    return { usable: false, reason: `${dir} is not writable by the agent` };
  }
  const controllers = (fields.get("subtree") ?? "").split(/\s+/);
  if (!controllers.includes("memory")) {
    return {
      usable: false,
      reason:
        `${dir}/cgroup.subtree_control does not enable memory for children`,
    };
  }
  return { usable: true, reason: `cgroup v2 slot ${dir}`, slotDir: dir };
}

/** Looks (only looks) whether the agent's cgroup can hold job cgroups. */
export async function probeCgroupV2(
  opts: { shell?: string } = {},
): Promise<CgroupProbe> {
  const shell = new ProcfsShell(opts);
  try {
    return interpretCgroupProbe(await shell.request("cgprobe"));
  } finally {
    await shell.close();
  }
}

/** Parses the shell's `cgroup` answer into a usage sample (pure). */
export function parseCgroupUsage(text: string, at = Date.now()): TreeUsage {
  let memory = 0, usec = 0, pids = 0, processes = 0;
  for (const line of text.split("\n")) {
    const [k, ...rest] = line.split(" ");
    const v = Number(rest[0]);
    if (k === "memory.current") memory = v;
    else if (k === "usage_usec") usec = v;
    else if (k === "pids.current") pids = v;
    else if (k === "procs") processes = rest.filter((x) => x !== "").length;
  }
  return {
    at,
    processes,
    threads: pids || processes,
    cpuSeconds: usec / 1e6,
    rssBytes: memory,
    // The cgroup charges each page once, which is what PSS approximates.
    pssBytes: memory,
  };
}

/** Samples per-job cgroups below the slot's cgroup. */
export class CgroupSampler implements Sampler {
  /** @inheritdoc */
  readonly name = "cgroup";
  /** The slot's cgroup directory. */
  readonly slotDir: string;
  #shell: ProcfsShell;
  #seq = 0;

  /** Uses `slotDir` (from a usable {@link probeCgroupV2}). */
  constructor(slotDir: string, opts: { shell?: string } = {}) {
    this.slotDir = slotDir;
    this.#shell = new ProcfsShell(opts);
  }

  /** Creates a fresh job cgroup and returns its directory. */
  async createJobCgroup(name: string): Promise<string> {
    const dir = `${this.slotDir}/${name}-${Deno.pid}-${++this.#seq}`;
    await this.#shell.request("cgmkdir", [dir]);
    return dir;
  }

  /** @inheritdoc */
  watch(pid: number, opts: { cgroup?: string } = {}): Promise<WatchedTree> {
    const dir = opts.cgroup;
    if (!dir || !dir.startsWith(this.slotDir + "/")) {
      return Promise.reject(
        new TypeError(
          `cgroup sampler: expected a job cgroup below ${this.slotDir}, got ${dir}`,
        ),
      );
    }
    // Moved in right after the spawn: the helper takes no command to exec,
    // so the launcher starts in the agent's cgroup and joins the job's
    // before it has had time to fork much (what it forked first is still
    // found through the procfs fallback of the agent's dead man's switch).
    const joined = this.#shell.request("cgjoin", [dir, pid]);
    const read = async () =>
      parseCgroupUsage(await this.#shell.request("cgroup", [dir]));
    let maxCpu = 0;
    return joined.then(() => ({
      sample: async () => {
        const u = await read();
        maxCpu = Math.max(maxCpu, u.cpuSeconds);
        return { ...u, cpuSeconds: maxCpu };
      },
      signal: async (signal: TreeSignal, o = {}) => {
        const text = await this.#shell.request("cgroup", [dir]);
        const procs = (/^procs ?(.*)$/m.exec(text)?.[1] ?? "").split(" ")
          .filter((x) =>
            /^\d+$/.test(x) && (o.includeRoot !== false ||
              Number(x) !== pid)
          );
        if (signal === "KILL") await this.#shell.request("cgkill", [dir]);
        if (procs.length > 0) {
          const stats = parseStatScan(
            await this.#shell.request(
              "stats",
              procs.map((p) => `/proc/${p}/stat`),
            ),
          );
          await signalVerified(
            signal,
            [...stats.values()].map((m) => ({
              pid: m.pid,
              startTime: m.startTime,
            })),
          );
        }
        return procs.length;
      },
      release: async () => {
        await this.#shell.request("cgrmdir", [dir]);
      },
    }));
  }

  /** @inheritdoc */
  dirUsage(dir: string): Promise<DirUsage> {
    return probeDirUsage(dir);
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.#shell.close();
  }
}

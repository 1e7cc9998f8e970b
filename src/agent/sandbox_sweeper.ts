/**
 * The agent's start-up sweep of its work root: sandboxes left by agents
 * that died (SIGKILL, OOM, node crash) are removed, and whatever still
 * runs in them is killed first. A sandbox is named
 * `job-<jobId>-<agentPid>-<seq>`; it is left alone while a process with
 * that pid still runs with our work root on its command line (a live
 * agent sharing the work root).
 *
 * Only processes that provably belong to a dead sandbox are signalled:
 * those whose command line names the sandbox (the container launcher, a
 * `none` wrapper), whose working directory lies in it, and their
 * descendants. A pid that merely could be one (a reused pid, the same
 * process group) is never touched.
 *
 * Deno asks for `--allow-all` to read `/proc`, so the process table comes
 * from `ps` and `readlink` run by `/bin/sh` (already on the agent's
 * `--allow-run` list for group kills).
 *
 * @module
 */

/** One process as the sweep sees it. */
export interface ProcInfo {
  /** Pid. */
  pid: number;
  /** Parent pid. */
  ppid: number;
  /** Command line. */
  args: string;
  /** Working directory (host view), when readable. */
  cwd?: string;
}

const SANDBOX = /^job-[^/]+-(\d+)-\d+$/;

/** A leftover sandbox. */
export interface DeadSandbox {
  /** Directory name in the work root. */
  name: string;
  /** Absolute path. */
  path: string;
  /** Pid of the agent that made it. */
  agentPid: number;
}

/**
 * The sandboxes among `names` (entries of `workRoot`) whose agent is dead:
 * no process in `procs` has its pid and names `siteDir` on its command
 * line. Our own pid (`self`) always counts as alive.
 */
export function deadSandboxes(
  workRoot: string,
  names: string[],
  procs: ProcInfo[],
  self: number,
): DeadSandbox[] {
  const site = workRoot.replace(/\/[^/]*\/?$/, "") || "/";
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const out: DeadSandbox[] = [];
  for (const name of names) {
    const m = SANDBOX.exec(name);
    if (!m) continue;
    const agentPid = Number(m[1]);
    if (agentPid === self) continue;
    const p = byPid.get(agentPid);
    if (p && p.args.includes(site)) continue;
    out.push({ name, path: `${workRoot}/${name}`, agentPid });
  }
  return out;
}

/**
 * Pids that provably belong to one of `sandboxes`: named on the command
 * line, or working inside one, and every descendant of those.
 */
export function provenPids(procs: ProcInfo[], sandboxes: string[]): number[] {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const named = sandboxes.length === 0
    ? /$^/
    : new RegExp(`(${sandboxes.map(esc).join("|")})(?=$|[/ :,=])`);
  const inside = (text: string | undefined) =>
    text !== undefined && named.test(text);
  const proven = new Set(
    procs.filter((p) => inside(p.args) || inside(p.cwd)).map((p) => p.pid),
  );
  // Descendants: grow the set until no child of a proven pid is left out.
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (!proven.has(p.pid) && proven.has(p.ppid)) {
        proven.add(p.pid);
        grew = true;
      }
    }
  }
  return [...proven].sort((a, b) => a - b);
}

// One `ps` and one `find` (not a readlink per process: a loaded node has
// thousands).
const LIST_SCRIPT = `ps -eo pid=,ppid=,args= -ww | sed 's/^/P /'
find /proc/[0-9]*/cwd -maxdepth 0 -printf 'C %p %l\\n' 2>/dev/null
exit 0`;

/** Parses the output of the listing script. */
export function parseProcList(text: string): ProcInfo[] {
  const procs = new Map<number, ProcInfo>();
  const cwds = new Map<number, string>();
  for (const line of text.split("\n")) {
    let m = /^P\s+(\d+)\s+(\d+)\s?(.*)$/.exec(line);
    if (m) {
      procs.set(Number(m[1]), {
        pid: Number(m[1]),
        ppid: Number(m[2]),
        args: m[3],
      });
      continue;
    }
    m = /^C \/proc\/(\d+)\/cwd (.*)$/.exec(line);
    if (m) cwds.set(Number(m[1]), m[2]);
  }
  for (const [pid, cwd] of cwds) {
    const p = procs.get(pid);
    if (p) p.cwd = cwd;
  }
  return [...procs.values()];
}

/** The host's process table (through `/bin/sh`, `ps`, `readlink`). */
export async function listProcesses(): Promise<ProcInfo[]> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", LIST_SCRIPT],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
    env: { PATH: "/usr/bin:/bin" },
    clearEnv: true,
  }).output();
  return parseProcList(new TextDecoder().decode(out.stdout));
}

async function killPids(pids: number[]): Promise<void> {
  if (pids.length === 0) return;
  await new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'kill -s KILL "$@" 2>/dev/null; exit 0',
      "sh",
      ...pids.map(String),
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
    clearEnv: true,
  }).output();
}

/** What {@link sweepSandboxes} did. */
export interface SweepReport {
  /** Sandbox paths removed. */
  removed: string[];
  /** Pids killed. */
  killed: number[];
}

/**
 * Removes the sandboxes of dead agents in `workRoot`, killing their
 * processes first; logs each. Never throws: a failed sweep must not keep
 * the agent from working (it says what it could not do).
 */
export async function sweepSandboxes(
  workRoot: string,
  opts: {
    log: (line: string) => void;
    list?: () => Promise<ProcInfo[]>;
    self?: number;
  },
): Promise<SweepReport> {
  const report: SweepReport = { removed: [], killed: [] };
  const list = opts.list ?? listProcesses;
  try {
    const names: string[] = [];
    for await (const e of Deno.readDir(workRoot)) {
      if (e.isDirectory) names.push(e.name);
    }
    const self = opts.self ?? Deno.pid;
    // Most starts find nothing to sweep: no process table then.
    if (deadSandboxes(workRoot, names, [], self).length === 0) return report;
    let procs = await list();
    const dead = deadSandboxes(workRoot, names, procs, self);
    if (dead.length === 0) return report;
    const paths = dead.map((d) => d.path);
    // A few rounds: a dying parent can fork once more between two lists.
    for (let round = 0; round < 5; round++) {
      const pids = provenPids(procs, paths);
      if (pids.length === 0) break;
      await killPids(pids);
      report.killed.push(...pids.filter((p) => !report.killed.includes(p)));
      await new Promise((r) => setTimeout(r, 100));
      procs = await list();
    }
    if (report.killed.length > 0) {
      opts.log(
        `sweep: killed ${report.killed.length} process(es) left in dead agents' sandboxes: ${
          report.killed.join(" ")
        }`,
      );
    }
    for (const d of dead) {
      try {
        await Deno.remove(d.path, { recursive: true });
        report.removed.push(d.path);
        opts.log(`sweep: removed ${d.name} (agent ${d.agentPid} is gone)`);
      } catch (e) {
        opts.log(`sweep: could not remove ${d.name}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      opts.log(`sweep: ${(e as Error).message}`);
    }
  }
  return report;
}

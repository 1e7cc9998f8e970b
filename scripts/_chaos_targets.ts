/**
 * The chaos suite's targets: finding an agent's wrappers and payloads in
 * the process table, one seeded SIGKILL, and the orphan count at the end.
 *
 * @module
 */
import type { BrokerProcess } from "../src/launch/role_process.ts";
import { listProcesses, type ProcInfo } from "../src/agent/sandbox_sweeper.ts";
import type { ChaosKill } from "./_chaos_counts.ts";

/** What {@link killOne} needs of an agent. */
export interface ChaosAgent {
  /** The running agent process, if any. */
  child?: Deno.ChildProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Descendants of `roots` in `procs`. */
function descendants(procs: ProcInfo[], roots: number[]): ProcInfo[] {
  const ids = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (!ids.has(p.pid) && ids.has(p.ppid)) {
        ids.add(p.pid);
        grew = true;
      }
    }
  }
  return procs.filter((p) => ids.has(p.pid) && !roots.includes(p.pid));
}

/** SIGKILLs one seeded-random target that exists; returns its kind. */
export async function killOne(
  rnd: () => number,
  agents: ChaosAgent[],
  broker: BrokerProcess,
  mark: string,
  log: (line: string) => void,
): Promise<ChaosKill["target"] | undefined> {
  const procs = await listProcesses();
  const live = agents.filter((a) => a.child);
  const tree = descendants(procs, live.map((a) => a.child!.pid));
  const wrappers = tree.filter((p) =>
    /wrapper\.(ts|js)/.test(p.args) && !/^bwrap/.test(p.args)
  );
  const payloads = tree.filter((p) =>
    p.args.includes(mark) && p.args.startsWith("/bin/sh")
  );
  const order: ChaosKill["target"][] = [
    "agent",
    "wrapper",
    "payload",
    "broker",
  ];
  const first = Math.floor(rnd() * order.length);
  for (let i = 0; i < order.length; i++) {
    const target = order[(first + i) % order.length];
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    let pid: number | undefined;
    if (target === "agent" && live.length > 0) pid = pick(live).child!.pid;
    if (target === "wrapper" && wrappers.length > 0) pid = pick(wrappers).pid;
    if (target === "payload" && payloads.length > 0) pid = pick(payloads).pid;
    if (target === "broker") pid = broker.child.pid;
    if (pid === undefined) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      continue;
    }
    log(`SIGKILL ${target} (pid ${pid})`);
    if (target === "broker") await broker.child.status;
    return target;
  }
  return undefined;
}

/** Processes of this run still alive (payloads, wrappers, launchers). */
export async function orphanCount(dir: string, mark: string): Promise<number> {
  let left: ProcInfo[] = [];
  for (let i = 0; i < 50; i++) {
    left = (await listProcesses()).filter((p) =>
      p.pid !== Deno.pid && (p.args.includes(mark) || p.args.includes(dir)) &&
      !p.args.startsWith("ps ")
    );
    if (left.length === 0) return 0;
    await sleep(200);
  }
  for (const p of left) console.error(`[chaos] orphan ${p.pid}: ${p.args}`);
  return left.length;
}

/**
 * Process table sampling for the memory entries. Deno needs `--allow-all`
 * to read anything under /proc, so the table comes from `ps` (procps), run
 * as a child process.
 *
 * @module
 */

/** One process. */
export interface ProcInfo {
  /** Process ID. */
  pid: number;
  /** Parent process ID. */
  ppid: number;
  /** Resident set size, KiB (as VmRSS in /proc/PID/status). */
  rssKib: number;
  /** Command line. */
  args: string;
}

/** Parses `ps -e -o pid=,ppid=,rss=,args=` output. */
export function parsePs(text: string): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) {
      out.push({
        pid: Number(m[1]),
        ppid: Number(m[2]),
        rssKib: Number(m[3]),
        args: m[4],
      });
    }
  }
  return out;
}

/** All processes below `pid` (not `pid` itself), parents first. */
export function descendants(
  table: readonly ProcInfo[],
  pid: number,
): ProcInfo[] {
  const found: ProcInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of table) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

/** The whole process table, from `ps`. */
export async function processTable(): Promise<ProcInfo[]> {
  const out = await new Deno.Command("ps", {
    args: ["-e", "-ww", "-o", "pid=,ppid=,rss=,args="],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `ps failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return parsePs(new TextDecoder().decode(out.stdout));
}

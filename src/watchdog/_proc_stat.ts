/**
 * Pure parsing of `/proc/<pid>/stat` lines and process-tree walks; no
 * processes, no I/O (tested on text).
 *
 * @module
 */

/** The fields of one `/proc/<pid>/stat` line the watchdog uses. */
export interface ProcStat {
  /** Process ID. */
  pid: number;
  /** Command name (may contain spaces and parentheses). */
  comm: string;
  /** State letter (`R`, `S`, `Z`, ...). */
  state: string;
  /** Parent process ID. */
  ppid: number;
  /** Process group ID. */
  pgid: number;
  /** User + system time of the process, clock ticks. */
  cpuTicks: number;
  /** User + system time of its reaped children, clock ticks. */
  childTicks: number;
  /** Threads. */
  threads: number;
  /** Start time after boot, clock ticks (tells a reused pid apart). */
  startTime: number;
  /** Resident pages. */
  rssPages: number;
}

/**
 * Parses the whole content of one `/proc/<pid>/stat`; `undefined` for
 * anything malformed (a process that vanished mid-read leaves a truncated
 * file, which is not an error). The command name (comm) may hold any byte
 * but NUL, newlines and parentheses included, so it is everything between
 * the first `(` and the LAST `)`, and `expectPid` (the pid in the file's
 * name) must match the pid in front of it.
 */
export function parseStatLine(
  line: string,
  expectPid?: number,
): ProcStat | undefined {
  const open = line.indexOf(" (");
  const close = line.lastIndexOf(")");
  if (open <= 0 || close < open) return undefined;
  const head = line.slice(0, open);
  if (!/^\d+$/.test(head)) return undefined;
  const pid = Number(head);
  if (expectPid !== undefined && pid !== expectPid) return undefined;
  // Fields after the command name, starting with field 3 (state).
  const f = line.slice(close + 2).replace(/\n$/, "").split(" ");
  if (!Number.isSafeInteger(pid) || f.length < 22) return undefined;
  const n = (i: number) => /^-?\d+$/.test(f[i]) ? Number(f[i]) : NaN;
  const stat: ProcStat = {
    pid,
    comm: line.slice(open + 2, close),
    state: f[0],
    ppid: n(1),
    pgid: n(2),
    cpuTicks: n(11) + n(12),
    childTicks: n(13) + n(14),
    threads: n(17),
    startTime: n(19),
    rssPages: n(21),
  };
  if (
    !/^[A-Za-z]$/.test(stat.state) ||
    !Number.isFinite(
      stat.ppid + stat.pgid + stat.cpuTicks + stat.childTicks + stat.threads +
        stat.startTime + stat.rssPages,
    )
  ) {
    return undefined;
  }
  return stat;
}

/**
 * Parses the helper's answer to `scan` or `stats`: one record per stat
 * file, `/proc/<pid>/stat:<whole content>`, each ended by NUL (the one
 * byte no comm can hold; a newline can be in a comm, so lines are never
 * split). A record whose pid does not match its file name is dropped.
 */
export function parseStatScan(text: string): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const record of text.split("\0")) {
    const m = /^\/proc\/(\d+)\/stat:/.exec(record);
    if (!m) continue;
    const s = parseStatLine(record.slice(m[0].length), Number(m[1]));
    if (s) out.set(s.pid, s);
  }
  return out;
}

/** A process identity that survives pid reuse. */
export interface ProcessKey {
  /** Process ID. */
  pid: number;
  /** Its start time, clock ticks after boot. */
  startTime: number;
}

/**
 * The processes descending from `roots` (roots included), in breadth-first
 * order. A root counts only while its start time still matches (a pid that
 * was reused is someone else's process).
 */
export function collectTree(
  procs: ReadonlyMap<number, ProcStat>,
  roots: readonly ProcessKey[],
): ProcStat[] {
  const children = new Map<number, number[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const seen = new Set<number>();
  const out: ProcStat[] = [];
  const queue: number[] = [];
  for (const r of roots) {
    const p = procs.get(r.pid);
    if (p && p.startTime === r.startTime && !seen.has(r.pid)) {
      seen.add(r.pid);
      queue.push(r.pid);
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const p = procs.get(queue[i])!;
    out.push(p);
    for (const c of children.get(p.pid) ?? []) {
      if (!seen.has(c)) {
        seen.add(c);
        queue.push(c);
      }
    }
  }
  return out;
}

/**
 * Process groups that lie entirely inside `members`: the only groups it is
 * safe to signal as a whole (never the agent's own, never a stranger's).
 */
export function containedGroups(
  procs: ReadonlyMap<number, ProcStat>,
  members: readonly ProcStat[],
): number[] {
  const inside = new Set(members.map((m) => m.pid));
  const candidates = new Set(members.map((m) => m.pgid));
  for (const p of procs.values()) {
    if (candidates.has(p.pgid) && !inside.has(p.pid)) {
      candidates.delete(p.pgid);
    }
  }
  candidates.delete(0);
  candidates.delete(1);
  return [...candidates].sort((a, b) => a - b);
}

/** Sums `Pss:` lines of `grep -H '^Pss:' /proc/<pid>/smaps_rollup ...`, bytes. */
export function parsePssLines(text: string): number {
  let kb = 0;
  for (const line of text.split("\n")) {
    const m = /^\/proc\/\d+\/smaps_rollup:Pss:\s+(\d+) kB/.exec(line);
    if (m) kb += Number(m[1]);
  }
  return kb * 1024;
}

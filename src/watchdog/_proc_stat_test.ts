import { assertEquals } from "@std/assert";
import {
  collectTree,
  containedGroups,
  parsePssLines,
  parseStatLine,
  parseStatScan,
} from "./_proc_stat.ts";

// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
// cmajflt utime stime cutime cstime prio nice threads itreal starttime
// vsize rss ...
function line(
  pid: number,
  ppid: number,
  pgid: number,
  o: { comm?: string; state?: string; start?: number; rss?: number } = {},
) {
  return `${pid} (${o.comm ?? "sh"}) ${
    o.state ?? "S"
  } ${ppid} ${pgid} ${pgid} 0 -1 4194304 100 0 0 0 7 3 20 10 20 0 2 0 ${
    o.start ?? pid * 10
  } 1000000 ${
    o.rss ?? 50
  } 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;
}

/** One record of the helper's scan answer for `text`. */
function record(text: string): string {
  return `/proc/${text.slice(0, text.indexOf(" "))}/stat:${text}\n\0`;
}

Deno.test("parseStatScan keeps a comm holding a newline and a fake pid in one record", () => {
  const evil = line(500, 10, 500, { comm: "x\n77 (", rss: 5 });
  const procs = parseStatScan(
    [line(10, 1, 10), evil, line(77, 1, 77)].map(record).join(""),
  );
  assertEquals([...procs.keys()].sort((a, b) => a - b), [10, 77, 500]);
  assertEquals(procs.get(500)!.comm, "x\n77 (");
  assertEquals(procs.get(500)!.ppid, 10);
  assertEquals(procs.get(77)!.ppid, 1);
  assertEquals(
    collectTree(procs, [{ pid: 10, startTime: 100 }]).map((p) => p.pid),
    [10, 500],
  );
});

Deno.test("parseStatScan drops a record whose pid is not its file's", () => {
  const procs = parseStatScan(`/proc/9/stat:${line(8, 1, 8)}\n\0`);
  assertEquals(procs.size, 0);
});

Deno.test("parseStatLine reads the fields, even with ') ' in the command name", () => {
  const s = parseStatLine(line(42, 1, 42, { comm: "evil) (name", rss: 9 }))!;
  assertEquals(s.pid, 42);
  assertEquals(s.comm, "evil) (name");
  assertEquals([s.state, s.ppid, s.pgid], ["S", 1, 42]);
  assertEquals([s.cpuTicks, s.childTicks, s.threads], [10, 30, 2]);
  assertEquals([s.startTime, s.rssPages], [420, 9]);
});

Deno.test("parseStatLine refuses truncated and malformed lines", () => {
  assertEquals(parseStatLine("12 (sh) S 1 12"), undefined);
  assertEquals(parseStatLine("garbage"), undefined);
  assertEquals(parseStatLine(""), undefined);
});

Deno.test("collectTree follows children and skips reused root pids", () => {
  const procs = parseStatScan(
    [
      line(1, 0, 1),
      line(10, 1, 10),
      line(11, 10, 11),
      line(12, 11, 11),
      line(13, 1, 13), // orphan, reparented to init
      line(14, 13, 13),
      line(20, 1, 20), // unrelated
    ].map(record).join(""),
  );
  assertEquals(
    collectTree(procs, [{ pid: 10, startTime: 100 }]).map((p) => p.pid),
    [10, 11, 12],
  );
  // A remembered orphan still counts, with its children.
  assertEquals(
    collectTree(procs, [{ pid: 10, startTime: 100 }, {
      pid: 13,
      startTime: 130,
    }]).map((p) => p.pid),
    [10, 13, 11, 14, 12],
  );
  // Same pid, other start time: someone else's process now.
  assertEquals(collectTree(procs, [{ pid: 13, startTime: 999 }]), []);
});

Deno.test("containedGroups never names a group with outside members", () => {
  const procs = parseStatScan(
    [
      line(5, 1, 5), // the agent, group 5
      line(6, 5, 5), // the launcher, still in the agent's group
      line(7, 6, 7),
      line(8, 7, 7),
      line(9, 7, 9),
    ].map(record).join(""),
  );
  const tree = collectTree(procs, [{ pid: 6, startTime: 60 }]);
  assertEquals(containedGroups(procs, tree), [7, 9]);
});

Deno.test("parsePssLines sums the Pss lines of every process", () => {
  assertEquals(
    parsePssLines(
      "/proc/1/smaps_rollup:Pss:     100 kB\n/proc/22/smaps_rollup:Pss:  24 kB\nnoise\n",
    ),
    124 * 1024,
  );
});

import { assertEquals } from "@std/assert";
import {
  deadSandboxes,
  listProcesses,
  parseProcList,
  type ProcInfo,
  provenPids,
  sweepSandboxes,
} from "./sandbox_sweeper.ts";

const W = "/site/work";
const procs: ProcInfo[] = [
  { pid: 1, ppid: 0, args: "/sbin/init" },
  { pid: 50, ppid: 1, args: `deno run agent.ts --work ${W}` },
  { pid: 60, ppid: 1, args: `bwrap --bind ${W}/job-7-40-1 /workdir deno` },
  { pid: 61, ppid: 60, args: "bwrap" },
  { pid: 62, ppid: 61, args: "deno run wrapper.ts" },
  { pid: 63, ppid: 62, args: "sleep 100" },
  { pid: 70, ppid: 1, args: "payload --daemon", cwd: `${W}/job-8-41-2/sub` },
  { pid: 80, ppid: 1, args: `cat ${W}/job-7-40-10` },
  { pid: 90, ppid: 1, args: "sleep 5", cwd: "/tmp" },
  { pid: 41, ppid: 1, args: "an unrelated process that reused the pid" },
];

Deno.test("deadSandboxes: only sandboxes whose agent no longer runs", () => {
  const names = [
    "job-7-40-1",
    "job-8-41-2",
    "job-9-50-3",
    "job-9-99-3",
    "outbox",
    ".deno",
  ];
  assertEquals(
    deadSandboxes(W, names, procs, 99).map((d) => d.name),
    ["job-7-40-1", "job-8-41-2"],
  );
});

Deno.test("provenPids: named, working inside, and descendants; nothing else", () => {
  assertEquals(
    provenPids(procs, [`${W}/job-7-40-1`, `${W}/job-8-41-2`]),
    [60, 61, 62, 63, 70],
  );
  assertEquals(provenPids(procs, []), []);
});

Deno.test("parseProcList reads the listing script's lines", () => {
  assertEquals(
    parseProcList(
      "P   12    1 sleep 9\nC /proc/12/cwd /tmp\nP 13 12 \nC /proc/99/cwd /gone\n",
    ),
    [{ pid: 12, ppid: 1, args: "sleep 9", cwd: "/tmp" }, {
      pid: 13,
      ppid: 12,
      args: "",
    }],
  );
});

Deno.test("sweepSandboxes kills what runs in a dead sandbox and removes it", async () => {
  const root = await Deno.makeTempDir({ prefix: "sweep-test-" });
  const work = `${root}/work`;
  // pid 2 is kthreadd (never an agent with our site on its command line).
  const dead = `${work}/job-1-2-1`;
  const live = `${work}/job-2-${Deno.pid}-1`;
  await Deno.mkdir(`${dead}/out`, { recursive: true });
  await Deno.mkdir(live, { recursive: true });
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", "sleep 300 & wait"],
    cwd: dead,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const lines: string[] = [];
    // Wait (up to 30 s on a loaded box) until ps shows the child's sleep.
    for (let i = 0; i < 300; i++) {
      const ps = await listProcesses();
      if (ps.some((p) => p.ppid === child.pid)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await sweepSandboxes(work, { log: (l) => lines.push(l) });
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL");
    assertEquals(r.removed, [dead]);
    assertEquals(r.killed.includes(child.pid), true, lines.join("\n"));
    assertEquals(r.killed.length >= 2, true, lines.join("\n"));
    const left = [];
    for await (const e of Deno.readDir(work)) left.push(e.name);
    assertEquals(left, [`job-2-${Deno.pid}-1`]);
    assertEquals(lines.some((l) => l.includes("removed job-1-2-1")), true);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(root, { recursive: true });
  }
});

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  CgroupSampler,
  interpretCgroupProbe,
  parseCgroupUsage,
  probeCgroupV2,
} from "./cgroup_sampler.ts";

Deno.test("interpretCgroupProbe: hybrid v1, root cgroup, read-only, no memory controller", () => {
  const hybrid = interpretCgroupProbe(
    "fstype tmpfs\ncgroup 0::/\ndir /sys/fs/cgroup/\n",
  );
  assertEquals(hybrid.usable, false);
  assertMatch(hybrid.reason, /tmpfs, not a unified cgroup v2/);
  const root = interpretCgroupProbe(
    "fstype cgroup2fs\ndir /sys/fs/cgroup/\nwritable\n",
  );
  assertMatch(root.reason, /root cgroup/);
  const ro = interpretCgroupProbe(
    "fstype cgroup2fs\ndir /sys/fs/cgroup/slot\n",
  );
  assertMatch(ro.reason, /not writable/);
  const nomem = interpretCgroupProbe(
    "fstype cgroup2fs\ndir /sys/fs/cgroup/slot\nwritable\nsubtree cpu pids\n",
  );
  assertMatch(nomem.reason, /does not enable memory/);
  const ok = interpretCgroupProbe(
    "fstype cgroup2fs\ndir /sys/fs/cgroup/slot\nwritable\nsubtree cpu memory pids\n",
  );
  assertEquals([ok.usable, ok.slotDir], [true, "/sys/fs/cgroup/slot"]);
});

Deno.test("probeCgroupV2 only says yes on a unified hierarchy", async () => {
  const p = await probeCgroupV2();
  const fstype = new TextDecoder().decode(
    (await new Deno.Command("stat", { args: ["-fc", "%T", "/sys/fs/cgroup"] })
      .output()).stdout,
  ).trim();
  if (fstype !== "cgroup2fs") assertEquals(p.usable, false, p.reason);
  assert(p.reason.length > 0);
});

Deno.test("parseCgroupUsage reads memory, CPU and members", () => {
  const u = parseCgroupUsage(
    "memory.current 104857600\nmemory.peak 209715200\npids.current 7\nusage_usec 2500000\nuser_usec 2000000\nprocs 11 12 13\n",
    5,
  );
  assertEquals(u, {
    at: 5,
    processes: 3,
    threads: 7,
    cpuSeconds: 2.5,
    rssBytes: 104857600,
    pssBytes: 104857600,
  });
});

Deno.test("cgroup sampler works on a cgroup-shaped directory and signals its members", async () => {
  // A stand-in for a delegated cgroup: the same files, in a temp dir.
  const slot = await Deno.makeTempDir({ prefix: "splitpilot-cg-" });
  const sampler = new CgroupSampler(slot);
  const child = new Deno.Command("sleep", {
    args: ["300"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const dir = await sampler.createJobCgroup("job-1");
    assert(dir.startsWith(`${slot}/job-1-`));
    await Deno.writeTextFile(`${dir}/memory.current`, "4096\n");
    await Deno.writeTextFile(`${dir}/cpu.stat`, "usage_usec 1500000\n");
    await Deno.writeTextFile(`${dir}/cgroup.procs`, `${child.pid}\n`);
    const tree = await sampler.watch(child.pid, { cgroup: dir });
    const u = await tree.sample();
    assertEquals([u.processes, u.cpuSeconds, u.rssBytes], [1, 1.5, 4096]);
    assertEquals(await tree.signal("TERM", { includeRoot: false }), 0);
    assertEquals(await tree.signal("TERM"), 1);
    assertEquals((await child.status).signal, "SIGTERM");
    await Deno.remove(`${dir}`, { recursive: true });
    await tree.release();
    await assertRejects(
      () => sampler.watch(1, { cgroup: "/elsewhere" }),
      TypeError,
      "expected a job cgroup below",
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await sampler.close();
    await Deno.remove(slot, { recursive: true });
  }
});

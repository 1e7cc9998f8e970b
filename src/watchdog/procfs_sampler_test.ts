import {
  assert,
  assertEquals,
  assertGreater,
  assertGreaterOrEqual,
  assertLessOrEqual,
} from "@std/assert";
import { ProcfsSampler } from "./procfs_sampler.ts";
import { ProcfsShell } from "./_procfs_shell.ts";
import { agentHelpers } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of `sleep <m>` processes. */
async function pgrep(m: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", `^sleep ${m}$`] })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l)
    .map(Number);
}

async function until(what: string, ok: () => Promise<boolean>, ms = 20000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const marker = () => `${300 + Math.floor(Math.random() * 1e6) / 1e3}`;

Deno.test("procfs sampler: a tree's processes, CPU, RSS and PSS; TERM kills it", async () => {
  const sampler = await ProcfsSampler.start({ discoverMs: 0 });
  const m = marker();
  // Three sleeps and a busy loop that burns a little CPU, then sleeps.
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      `sleep ${m} & sleep ${m} & sleep ${m} & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; wait; sleep ${m}`,
    ],
    detached: true,
    // A leftover must never hold the test runner's pipes.
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const tree = await sampler.watch(child.pid);
    await until("the sleeps", async () => (await pgrep(m)).length === 3);
    // Scans are shared for 250 ms: wait for one that shows the sleeps.
    let u = await tree.sample();
    await until("a fresh scan", async () => {
      u = await tree.sample();
      return u.processes === 4;
    });
    assertEquals(u.threads, 4);
    assertGreater(u.rssBytes, 0);
    assertGreater(u.pssBytes!, 0);
    assertLessOrEqual(u.pssBytes!, u.rssBytes);
    await until("CPU time", async () => {
      u = await tree.sample({ pss: false });
      return u.cpuSeconds > 0;
    });
    assertEquals(u.pssBytes, undefined);
    // TERM without the root: the sleeps go, the shell (root) stays.
    const n = await tree.signal("TERM", { includeRoot: false });
    assertEquals(n, 3);
    // The shell's wait returns and it starts one more sleep.
    await until(
      "the last sleep",
      async () => (await tree.sample()).processes === 2,
    );
    assertEquals(await tree.signal("KILL"), 2);
    assertEquals((await child.status).signal, "SIGKILL");
    await until("the sleeps to die", async () => (await pgrep(m)).length === 0);
    await until(
      "an empty tree",
      async () => (await tree.sample()).processes === 0,
    );
    await tree.release();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    for (const pid of await pgrep(m)) Deno.kill(pid, "SIGKILL");
    await sampler.close();
  }
});

Deno.test("procfs sampler: orphans of a dead root stay in the tree", async () => {
  const sampler = await ProcfsSampler.start({ discoverMs: 0 });
  const m = marker();
  // The shell exits at once, leaving its setsid'd sleep behind.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `setsid sleep ${m} & sleep 0.5`],
    detached: true,
    // A leftover must never hold the test runner's pipes.
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const tree = await sampler.watch(child.pid);
    await until("the sleep", async () => (await tree.sample()).processes >= 2);
    await child.status;
    await until("the shell to go", async () => {
      const u = await tree.sample();
      return u.processes === 1;
    });
    assertEquals((await pgrep(m)).length, 1);
    assertEquals(await tree.signal("KILL"), 1);
    await until("the orphan to die", async () => (await pgrep(m)).length === 0);
    await tree.release();
  } finally {
    for (const pid of await pgrep(m)) Deno.kill(pid, "SIGKILL");
    await sampler.close();
  }
});

Deno.test("procfs sampler: sandbox size and a real core dump", async () => {
  const sampler = await ProcfsSampler.start({ discoverMs: 0 });
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-wd-" });
  try {
    const empty = await sampler.dirUsage(dir);
    assertEquals(empty.coreFiles, 0);
    await Deno.writeFile(
      `${dir}/data`,
      new Uint8Array(3 * 1024 * 1024).fill(7),
    );
    const out = await new Deno.Command("/bin/sh", {
      args: [
        "-c",
        "ulimit -c unlimited; cd sub 2>/dev/null; sh -c 'kill -SEGV $$'",
      ],
      cwd: dir,
    }).output();
    assertEquals(out.signal ?? out.code !== 0, out.signal ?? true);
    const u = await sampler.dirUsage(dir);
    assertGreaterOrEqual(u.diskBytes, 3 * 1024 * 1024);
    assertEquals(
      u.coreFiles,
      1,
      "the kernel writes core files here (core_pattern core)",
    );
    assertGreater(u.largestCoreBytes, 0);
  } finally {
    await sampler.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("procfs sampler: bad request words are refused before the helper sees them", async () => {
  const sampler = await ProcfsSampler.start({ discoverMs: 0 });
  const shell = new ProcfsShell();
  try {
    let error = "";
    await shell.request("cwd", ["/tmp/x; rm -rf /"]).catch((e) =>
      error = e.message
    );
    assert(error.includes("expected letters, digits"), error);
    // The du helper takes the path as one argument and runs nothing else.
    const u = await sampler.dirUsage("/tmp/x; touch /tmp/sp-owned-$$");
    assertEquals(u.diskBytes, 0);
  } finally {
    await shell.close();
    await sampler.close();
  }
});

Deno.test("procfs sampler: SIGKILL of its owner kills every guarded process", async () => {
  const m = marker();
  const fixture = new URL("./_guard_fixture.ts", import.meta.url).pathname;
  const owner = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-run=/bin/sh,${agentHelpers().join(",")}`,
      fixture,
      m,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = owner.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const r = await reader.read();
      if (r.done) throw new Error("fixture exited early");
      text += r.value;
    }
    assertEquals((await pgrep(m)).length, 2);
    owner.kill("SIGKILL");
    await owner.status;
    await until(
      "the guarded sleeps to die",
      async () => (await pgrep(m)).length === 0,
    );
  } finally {
    reader.releaseLock();
    await owner.stdout.cancel().catch(() => {});
    try {
      owner.kill("SIGKILL");
    } catch { /* gone */ }
    for (const pid of await pgrep(m)) Deno.kill(pid, "SIGKILL");
  }
});

Deno.test("procfs sampler: between discoveries only known members are read", async () => {
  const sampler = await ProcfsSampler.start({ discoverMs: 60_000 });
  const m = marker();
  const child = new Deno.Command("/bin/sh", {
    // A child only once the test says so (a line on stdin): no timing.
    args: ["-c", `read go; sleep ${m}; :`],
    detached: true,
    stdin: "piped",
    // A leftover must never hold the test runner's pipes.
    stdout: "null",
    stderr: "null",
  }).spawn();
  const go = child.stdin.getWriter();
  try {
    const tree = await sampler.watch(child.pid);
    assertEquals((await tree.sample()).processes, 1);
    await go.write(new TextEncoder().encode("go\n"));
    await until("the sleep", async () => (await pgrep(m)).length === 1);
    assertEquals((await tree.sample()).processes, 1, "not looked for yet");
    assertEquals((await tree.sample({ discover: true })).processes, 2);
    assertEquals((await tree.sample()).processes, 2, "now a known member");
    await tree.signal("KILL");
    await tree.release();
  } finally {
    await go.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    for (const pid of await pgrep(m)) Deno.kill(pid, "SIGKILL");
    await sampler.close();
  }
});

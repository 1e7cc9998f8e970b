/**
 * Watchdog limits, end to end: a real broker, a real agent process, real
 * wrappers and payloads that break each limit — TTL, memory, disk, core
 * file, no CPU progress. Each must end ERROR_E with JAliEn's kill reason in
 * the job and its trace, with no payload process left and the sandbox
 * gone.
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertStringIncludes,
} from "@std/assert";
import { type Grid, needs, startGrid } from "./_grid.ts";
import {
  job,
  killMarked,
  marker,
  pgrep,
  sandboxesLeft,
  shellJdl,
  trace,
  waitFor,
} from "./_agent_helpers.ts";

const MB = 2 ** 20;

async function expectKilled(
  grid: Grid,
  id: string,
  reason: number,
  log: string,
) {
  const j = await job(grid, id);
  assertEquals(
    [j.state, j.killReason],
    ["ERROR_E", reason],
    `job ${id}: ${JSON.stringify(j)}\n${log}`,
  );
  const last = (await trace(grid, id)).at(-1)!;
  assertEquals(last.state, "ERROR_E");
  assertStringIncludes(last.reason, `kill reason ${reason}`);
  assertStringIncludes(last.actor, "JOB_AGENT");
  return j;
}

async function limits(containers: "bwrap" | "none") {
  const grid = await startGrid();
  const m = marker();
  try {
    const ttl = await grid.submit(
      shellJdl(`while :; do :; done`, `${m}t`, { TTL: 2 }),
    );
    const memory = await grid.submit(
      shellJdl(
        `head -c 400000000 /dev/zero | (cat; exec sleep 3${m}) | tail -n 1 >/dev/null`,
        `${m}m`,
        { MemorySize: "100MB" },
      ),
    );
    const disk = await grid.submit(
      shellJdl(
        `dd if=/dev/zero of=big bs=1M count=64 2>/dev/null; exec sleep 3${m}`,
        `${m}d`,
        { WorkDirectorySize: "20MB" },
      ),
    );
    const core = await grid.submit(
      shellJdl(
        `ulimit -c unlimited; sleep 100 & kill -SEGV $!; exec sleep 3${m}`,
        `${m}c`,
      ),
    );
    const agent = await grid.runAgent({
      containers,
      extraArgs: [
        "--cores",
        "4",
        "--max-empty",
        "1",
        "--heartbeat",
        "1",
        "--sample",
        "1",
        "--ttl-grace",
        "1",
        "--kill-grace",
        "2",
      ],
      timeoutMs: 120_000,
    });
    assertEquals(agent.code, 0, agent.log);
    await expectKilled(grid, ttl, 20, agent.log);
    const mem = await expectKilled(grid, memory, 80, agent.log);
    assertGreater(mem.usage?.maxRssBytes ?? 0, 120 * MB, agent.log);
    const d = await expectKilled(grid, disk, 70, agent.log);
    assertGreater(d.usage?.diskBytes ?? 0, 20 * MB);
    await expectKilled(grid, core, 60, agent.log);
    await waitFor(
      "no payload process left",
      async () => (await pgrep(m)).length === 0,
      15_000,
    );
    assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);

    // No CPU progress: an idle payload, a short window.
    const idle = await grid.submit(shellJdl(`exec sleep 3${m}`, `${m}i`));
    const agent2 = await grid.runAgent({
      containers,
      extraArgs: [
        "--max-empty",
        "1",
        "--heartbeat",
        "1",
        "--sample",
        "1",
        "--low-cpu-window",
        "3",
        "--kill-grace",
        "2",
      ],
    });
    assertEquals(agent2.code, 0, agent2.log);
    const i = await expectKilled(grid, idle, 50, agent2.log);
    assert(i.usage !== null, "usage recorded");
    await waitFor(
      "no payload process left",
      async () => (await pgrep(m)).length === 0,
      15_000,
    );
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

Deno.test({
  name: "agent limits: TTL, memory, disk, core file and low CPU kills in bwrap",
  ignore: needs("bwrap"),
  fn: () => limits("bwrap"),
});

Deno.test("agent limits: TTL, memory, disk, core file and low CPU kills without a container", () =>
  limits("none"));

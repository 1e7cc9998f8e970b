/**
 * Faults that must lose nothing and run nothing twice, with real
 * processes: a broker outage while a job saves its outputs, and an agent
 * SIGKILLed after its job ended but before the broker heard of it.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { startGrid } from "./_grid.ts";
import { startBrokerProcess } from "../src/launch/role_process.ts";
import {
  job,
  killMarked,
  marker,
  pgrep,
  sandboxesLeft,
  shellJdl,
  spawnAgent,
  trace,
  waitFor,
} from "./_agent_helpers.ts";

/** The job's sandbox on the host (runtime `none`: the payload's cwd). */
async function sandboxOf(workRoot: string, id: string): Promise<string> {
  let found = "";
  await waitFor(`the sandbox of job ${id}`, async () => {
    try {
      for await (const e of Deno.readDir(workRoot)) {
        if (e.name.startsWith(`job-${id}-`)) found = `${workRoot}/${e.name}`;
      }
    } catch { /* not made yet */ }
    return found !== "";
  });
  return found;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** A payload that waits for `go` in its sandbox, then writes out.txt. */
function gated(m: string): string {
  return shellJdl(
    `touch ready; while [ ! -e go ]; do sleep 0.1; done; echo job-$ALIEN_PROC_ID > out.txt`,
    m,
    { OutputFile: "out.txt" },
  ).replace(`OutputFile = "out.txt";`, `OutputFile = {"out.txt"};`);
}

Deno.test("broker outage during SAVING: the job ends DONE with exactly one RUNNING in its trace", async () => {
  const grid = await startGrid({ process: true });
  const m = marker();
  const port = Number(new URL(grid.url).port);
  let restarted: Awaited<ReturnType<typeof startBrokerProcess>> | undefined;
  try {
    const id = await grid.submit(gated(m));
    const work = `${grid.dir}/work`;
    const agent = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    try {
      const sandbox = await sandboxOf(work, id);
      await waitFor("the payload", () => exists(`${sandbox}/ready`));
      await waitFor(
        "RUNNING",
        async () => (await job(grid, id)).state === "RUNNING",
      );
      // The outage: the broker dies, the payload ends and its SAVING
      // report, uploads and DONE meet a dead broker for a while.
      grid.brokerProcess!.child.kill("SIGKILL");
      await grid.brokerProcess!.child.status;
      await Deno.writeTextFile(`${sandbox}/go`, "");
      await waitFor(
        "the wrapper to meet the outage",
        () => agent.log().includes("not acknowledged, resending"),
        60_000,
      );
      restarted = await startBrokerProcess({ stateDir: grid.stateDir, port });
      const end = await agent.done();
      assertEquals(end.code, 0, end.log);
      const j = await job(grid, id);
      const t = await trace(grid, id);
      assertEquals(j.state, "DONE", JSON.stringify(t));
      assertEquals(t.filter((e) => e.state === "RUNNING").length, 1);
      assertEquals(j.resubmissions, 0);
      const out = await grid.user.request(
        "GET",
        `/api/v1/files/jdoe/jobs/${id}/out.txt`,
      );
      assertEquals((await out.text()).trim(), `job-${id}`);
      assertEquals(await sandboxesLeft(work), []);
    } finally {
      await agent.kill();
    }
  } finally {
    await killMarked(m);
    await restarted?.stop();
    await grid.close();
  }
});

Deno.test("an agent restarted on the same work root reports the outcome its predecessor persisted", async () => {
  const grid = await startGrid();
  const m = marker();
  try {
    const work = `${grid.dir}/work`;
    // An agent SIGKILLed after its job ended but before the broker
    // acknowledged the outcome leaves the job RUNNING, its sandbox, and
    // the outcome in the outbox (planted here: the file is the contract).
    const id2 = await grid.submit(shellJdl(`sleep 600`, m));
    const a2 = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    try {
      await waitFor(
        "RUNNING",
        async () => (await job(grid, id2)).state === "RUNNING",
      );
    } finally {
      await a2.kill();
    }
    await killMarked(m);
    await Deno.mkdir(`${work}/outbox`, { recursive: true });
    await Deno.writeTextFile(
      `${work}/outbox/job-${id2}.0.json`,
      JSON.stringify({
        jobId: id2,
        attempt: 0,
        death: false,
        outcome: {
          state: "ERROR_E",
          exitCode: 9,
          message: "payload exited with code 9",
          stage: "RUNNING",
          startedAt: 1,
          endedAt: 2,
        },
      }),
    );
    const a3 = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    const end = await a3.done();
    assertEquals(end.code, 0, end.log);
    assertStringIncludes(end.log, `outbox: reporting ERROR_E of job ${id2}`);
    assertStringIncludes(end.log, "sweep: removed");
    const j = await job(grid, id2);
    assertEquals([j.state, j.exitCode], ["ERROR_E", 9]);
    assertEquals(await sandboxesLeft(work), []);
    assertEquals([...Deno.readDirSync(`${work}/outbox`)], []);
  } finally {
    await killMarked(m);
    await grid.close();
  }
});

Deno.test("a SIGKILLed agent leaves nothing: the next agent on its work root kills what runs in the old sandbox and removes it", async () => {
  const grid = await startGrid({ maxResubmissions: 0 });
  const m = marker();
  try {
    // A payload that leaves a daemon behind, outside its process group.
    const id = await grid.submit(
      shellJdl(`setsid sleep 4${m} & exec sleep 3${m}`, m),
    );
    const work = `${grid.dir}/work`;
    const a1 = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    try {
      await waitFor(
        "the payload and its daemon",
        async () => (await pgrep(`sleep [34]${m}`)).length >= 2,
      );
    } finally {
      await a1.kill();
    }
    const old = await sandboxOf(work, id);
    const a2 = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    const end = await a2.done();
    assertEquals(end.code, 0, end.log);
    assertStringIncludes(
      end.log,
      `sweep: removed ${old.slice(work.length + 1)}`,
    );
    // Whatever of the old job still ran there (its wrapper, payload and
    // daemon, when they outlived the agent) is gone, found by command line
    // or working directory (src/agent/sandbox_sweeper_test.ts kills such
    // a survivor on purpose).
    await waitFor(
      "no process of the old sandbox",
      async () => (await pgrep(m)).length === 0,
      20_000,
    );
    assertEquals(await sandboxesLeft(work), []);
  } finally {
    await killMarked(m);
    await grid.close();
  }
});

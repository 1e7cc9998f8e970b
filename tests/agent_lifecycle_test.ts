/**
 * The agent's lifecycle with real processes: a user kill reaches the
 * payload through the heartbeat reply; SIGTERM to the agent (preemption)
 * hands running jobs back for resubmission and exits; SIGKILL of a wrapper
 * is reported by the stage it died in; SIGKILL of the agent leaves nothing
 * of the job on the node, and the broker turns the silent job ZOMBIE and
 * resubmits it.
 */
import {
  assert,
  assertEquals,
  assertLess,
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
  spawnAgent,
  trace,
  waitFor,
} from "./_agent_helpers.ts";
import { deathState } from "../src/agent/run_wrapper.ts";

type Runtime = "bwrap" | "none";

const FAST = ["--heartbeat", "1", "--sample", "1", "--kill-grace", "2"];

/** A job whose payload sleeps until killed. */
function sleeper(grid: Grid, m: string, tag: string) {
  return grid.submit(shellJdl(`exec sleep 3${m}`, `${m}${tag}`));
}

async function running(grid: Grid, ids: string[]) {
  await waitFor(`jobs ${ids} RUNNING`, async () => {
    for (const id of ids) {
      if ((await job(grid, id)).state !== "RUNNING") return false;
    }
    return true;
  });
}

/** One `ps` column of a process (Deno may not read /proc itself). */
async function ps(pid: number, column: string): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", `${column}=`, "-p", String(pid)],
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function noPayloadLeft(m: string) {
  await waitFor(
    "no payload process left",
    async () => (await pgrep(m)).length === 0,
    20_000,
  );
}

async function userKill(containers: Runtime) {
  const grid = await startGrid();
  const m = marker();
  try {
    const id = await sleeper(grid, m, "u");
    const agent = spawnAgent(grid, {
      containers,
      extraArgs: ["--max-empty", "1", ...FAST],
    });
    try {
      await running(grid, [id]);
      await waitFor("the payload", async () => (await pgrep(m)).length > 0);
      await grid.user.json("POST", `/api/v1/jobs/${id}/kill`);
      const end = await agent.done();
      assertEquals(end.code, 0, end.log);
      assertStringIncludes(end.log, `job ${id}: cancel (reason 30)`);
      const j = await job(grid, id);
      assertEquals([j.state, j.killReason], ["KILLED", 30]);
      await noPayloadLeft(m);
      assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
    } finally {
      await agent.kill();
    }
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

async function preemption(containers: Runtime) {
  const grid = await startGrid();
  const m = marker();
  try {
    const ids = [await sleeper(grid, m, "a"), await sleeper(grid, m, "b")];
    const agent = spawnAgent(grid, {
      containers,
      extraArgs: [
        "--cores",
        "2",
        "--wait",
        "--preempt-grace",
        "5",
        ...FAST,
      ],
    });
    try {
      await running(grid, ids);
      await waitFor("both payloads", async () => (await pgrep(m)).length >= 2);
      const t0 = Date.now();
      agent.child.kill("SIGTERM");
      const end = await agent.done();
      const took = Date.now() - t0;
      // It exits by itself (even with --wait), well within a hang's time.
      assertEquals(end.code, 0, end.log);
      assertLess(took, 30_000, end.log);
      assertStringIncludes(end.log, "SIGTERM received");
      for (const id of ids) {
        const j = await job(grid, id);
        assertEquals([j.state, j.resubmissions], ["WAITING", 1], end.log);
        const t = await trace(grid, id);
        const back = t.at(-1)!;
        assertEquals(back.state, "WAITING");
        assertStringIncludes(back.reason, "preempted");
        assert(!t.some((e) => e.state.startsWith("ERROR")), JSON.stringify(t));
      }
      await noPayloadLeft(m);
      assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
    } finally {
      await agent.kill();
    }
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

async function wrapperKilled(containers: Runtime) {
  // No automatic resubmission here: ERROR_A would put the job back in the
  // queue and this agent would run the (long) payload again.
  const grid = await startGrid({ maxResubmissions: 0 });
  const m = marker();
  try {
    // In RUNNING: the payload's parent is the wrapper.
    const id = await sleeper(grid, m, "w");
    const agent = spawnAgent(grid, {
      containers,
      extraArgs: ["--max-empty", "1", ...FAST],
    });
    try {
      await running(grid, [id]);
      let payload: number[] = [];
      await waitFor("the payload", async () => {
        payload = await pgrep(`^sleep 3${m}$`);
        return payload.length === 1;
      });
      const wrapper = Number(await ps(payload[0], "ppid"));
      assertStringIncludes(await ps(wrapper, "args"), "wrapper.ts");
      Deno.kill(wrapper, "SIGKILL");
      const end = await agent.done();
      assertEquals(end.code, 0, end.log);
      const j = await job(grid, id);
      assertEquals(j.state, "ERROR_E", end.log);
      assertStringIncludes(
        (await trace(grid, id)).at(-1)!.reason,
        "wrapper died in stage RUNNING",
      );
      await noPayloadLeft(m);
      assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
    } finally {
      await agent.kill();
    }

    // Before the wrapper reported anything: killed as soon as it exists.
    const early = await sleeper(grid, m, "x");
    const agent2 = spawnAgent(grid, {
      containers,
      extraArgs: ["--max-empty", "1", ...FAST],
    });
    try {
      let killed = 0;
      await waitFor("the wrapper to start", async () => {
        for (const pid of await pgrep(`${grid.dir}/work/job-${early}-`)) {
          try {
            Deno.kill(pid, "SIGKILL");
            killed++;
          } catch { /* raced */ }
        }
        return killed > 0;
      });
      const end = await agent2.done();
      assertEquals(end.code, 0, end.log);
      const j = await job(grid, early);
      // By the stage the broker had heard of when the wrapper died:
      // normally none (ERROR_A); a slow machine may let it get further.
      const t = await trace(grid, early);
      const stage = t.filter((e) =>
        ["ASSIGNED", "STARTED", "RUNNING", "SAVING"].includes(e.state)
      ).at(-1)!.state;
      assertEquals(j.state, deathState(stage), JSON.stringify(t));
      assertStringIncludes(t.at(-1)!.reason, "wrapper died in stage");
      assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
    } finally {
      await agent2.kill();
    }
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

async function agentKilled(containers: Runtime) {
  const grid = await startGrid({
    zombieAfterSeconds: 3,
    sweepIntervalSeconds: 1,
  });
  const m = marker();
  try {
    const id = await sleeper(grid, m, "k");
    const agent = spawnAgent(grid, {
      containers,
      extraArgs: ["--max-empty", "1", ...FAST],
    });
    try {
      await running(grid, [id]);
      await waitFor("the payload", async () => (await pgrep(m)).length > 0);
      agent.child.kill("SIGKILL");
      await agent.done();
    } finally {
      await agent.kill();
    }
    // Nothing of the job survives its agent on the node ...
    await noPayloadLeft(m);
    await waitFor(
      "no wrapper or launcher left",
      async () => (await pgrep(`${grid.dir}/work/job-${id}-`)).length === 0,
      20_000,
    );
    // ... and the broker resubmits the silent job.
    await waitFor("the job to come back", async () => {
      const t = await trace(grid, id);
      return t.some((e) => e.state === "ZOMBIE") &&
        t.at(-1)!.state === "WAITING";
    });
    assertEquals((await job(grid, id)).resubmissions, 1);
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

Deno.test("deathState maps the stage a wrapper died in to JAliEn's error", () => {
  assertEquals(
    ["ASSIGNED", "STARTED", "RUNNING", "SAVING"].map(deathState),
    ["ERROR_A", "ERROR_A", "ERROR_E", "ERROR_SV"],
  );
});

for (const containers of ["bwrap", "none"] as const) {
  const ignore = containers === "bwrap" ? needs("bwrap") : false;
  Deno.test({
    name: `agent lifecycle (${containers}): a user kill cancels the payload`,
    ignore,
    fn: () => userKill(containers),
  });
  Deno.test({
    name:
      `agent lifecycle (${containers}): SIGTERM preempts, jobs go back to WAITING`,
    ignore,
    fn: () => preemption(containers),
  });
  Deno.test({
    name:
      `agent lifecycle (${containers}): a SIGKILLed wrapper is reported by stage`,
    ignore,
    fn: () => wrapperKilled(containers),
  });
  Deno.test({
    name:
      `agent lifecycle (${containers}): a SIGKILLed agent leaves nothing; the job turns ZOMBIE and comes back`,
    ignore,
    fn: () => agentKilled(containers),
  });
}

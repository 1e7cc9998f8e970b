/**
 * Poison-proof agents: a job whose JDL the agent cannot read (here a row
 * corrupted in the broker's database, as a NUL-truncated JDL once was),
 * or whose wrapper speaks garbage, fails on its own with a clear reason;
 * the agent lives on and its next job ends DONE.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { DatabaseSync } from "node:sqlite";
import { startGrid } from "./_grid.ts";
import {
  job,
  killMarked,
  marker,
  sandboxesLeft,
  shellJdl,
  spawnAgent,
  trace,
} from "./_agent_helpers.ts";

Deno.test("a matched poison job fails on its own, and the agent's next job ends DONE", async () => {
  // No automatic resubmission: the poison job's ERROR_A stays final.
  const grid = await startGrid({ maxResubmissions: 0 });
  const m = marker();
  try {
    const poison = await grid.submit(shellJdl(`echo never`, m));
    const good = await grid.submit(shellJdl(`echo fine`, m));
    const db = new DatabaseSync(`${grid.stateDir}/jobs.db`);
    try {
      db.prepare("UPDATE jobs SET jdl = ? WHERE id = ?").run(
        `Executable = "/bin/sh\u0000"; Arguments = "`,
        Number(poison),
      );
    } finally {
      db.close();
    }
    const agent = spawnAgent(grid, {
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
    });
    const end = await agent.done();
    assertEquals(end.code, 0, end.log);
    const p = await job(grid, poison);
    assertEquals(p.state, "ERROR_A", end.log);
    assertStringIncludes(
      (await trace(grid, poison)).at(-1)!.reason,
      "wrapper not started",
    );
    assertEquals((await job(grid, good)).state, "DONE", end.log);
    assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
  } finally {
    await killMarked(m);
    await grid.close();
  }
});

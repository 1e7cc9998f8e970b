/**
 * A user's kill reaches the payload within 5 s with the agent's default
 * heartbeat (60 s): the cheap kill check (src/agent/kill_watch.ts) finds
 * the KILLED job and the wrapper SIGTERMs the payload. The payload itself
 * records when its SIGTERM came (the generous measure: no polling of
 * ours adds to it), and the job keeps kill reason 30.
 */
import { assert, assertEquals } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import {
  job,
  killMarked,
  marker,
  shellJdl,
  spawnAgent,
  waitFor,
} from "./_agent_helpers.ts";

/** Seconds from a kill to the payload's SIGTERM this test allows. */
const LIMIT_MS = 5000;

async function killLatency(containers: "bwrap" | "none") {
  const grid = await startGrid();
  const m = marker();
  try {
    const id = await grid.submit(shellJdl(
      `t() { echo TERM-AT $(date +%s%3N); exit 143; }; trap t TERM; echo READY; while :; do sleep 0.1; done`,
      m,
    ));
    // Default heartbeat and kill check: no --heartbeat, no --kill-check.
    const agent = spawnAgent(grid, {
      containers,
      extraArgs: ["--max-empty", "1"],
    });
    try {
      await waitFor("the payload", () => agent.log().includes("stdout: READY"));
      const t0 = Date.now();
      await grid.user.json("POST", `/api/v1/jobs/${id}/kill`);
      const end = await agent.done();
      assertEquals(end.code, 0, end.log);
      const at = /stdout: TERM-AT (\d+)/.exec(end.log);
      assert(at, `the payload never got SIGTERM:\n${end.log}`);
      const latency = Number(at[1]) - t0;
      assert(
        latency <= LIMIT_MS,
        `kill took ${latency} ms (limit ${LIMIT_MS})\n${end.log}`,
      );
      const j = await job(grid, id);
      assertEquals([j.state, j.killReason], ["KILLED", 30]);
      // Said once at most, never twice. (Under load the wrapper's own
      // RUNNING report can come after the kill: its refused token then
      // stops the payload before the agent's check does.)
      assert(end.log.split("kill reason 30").length - 1 <= 1, end.log);
      assert(
        end.log.includes(`job ${id}: cancel (reason 30)`) ||
          end.log.includes("job token refused"),
        end.log,
      );
      assert(!end.log.includes("stdin closed: agent gone"), end.log);
    } finally {
      await agent.kill();
    }
  } finally {
    await killMarked(m);
    await grid.close();
  }
}

for (const containers of ["bwrap", "none"] as const) {
  Deno.test({
    name:
      `kill latency (${containers}): a user's kill stops the payload within 5 s with the default heartbeat`,
    ignore: containers === "bwrap" ? needs("bwrap") : false,
    fn: () => killLatency(containers),
  });
}

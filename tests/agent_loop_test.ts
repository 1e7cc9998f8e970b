/**
 * The agent's match loop: what it offers is bounded by the slot TTL and by
 * its own token's lifetime (minus margins), so a job whose TTL would not
 * fit is never taken; it exits after the configured empty matches.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import { job, marker, shellJdl } from "./_agent_helpers.ts";
import { timeLeftSeconds } from "../src/agent/agent.ts";

Deno.test("timeLeftSeconds: the slot or the token, whichever ends first, minus margins", () => {
  const now = 1_000_000;
  // Slot ends in 1000 s, token in 10000 s: the slot bounds.
  assertEquals(timeLeftSeconds(now, now + 1000e3, now + 10000e3, 60), 940);
  // Token ends first: it loses the margin twice (it must outlive the job).
  assertEquals(timeLeftSeconds(now, now + 10000e3, now + 1000e3, 60), 880);
  // Expired token: nothing left.
  assertEquals(timeLeftSeconds(now, now + 10000e3, now - 1, 60) < 0, true);
});

Deno.test({
  name: "agent: a short-lived agent token only takes jobs whose TTL fits",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    const m = marker();
    try {
      // 300 s of token, margin 60 twice and TTL grace 10: 170 s to offer.
      const tokenDir = await grid.token("short-agent", {
        role: "JOB_AGENT",
        subject: "test-site",
        ttlSeconds: 300,
      });
      const long = await grid.submit(
        shellJdl(`echo long`, `${m}l`, { TTL: 200 }),
      );
      const short = await grid.submit(
        shellJdl(`echo short`, `${m}s`, { TTL: 150 }),
      );
      const agent = await grid.runAgent({
        tokenDir,
        containers: "bwrap",
        extraArgs: [
          "--max-empty",
          "2",
          "--margin",
          "60",
          "--ttl-grace",
          "10",
          "--heartbeat",
          "1",
        ],
      });
      assertEquals(agent.code, 0, agent.log);
      assertStringIncludes(agent.log, "no job matched 2 time(s) in a row");
      assertEquals((await job(grid, short)).state, "DONE", agent.log);
      assertEquals((await job(grid, long)).state, "WAITING", agent.log);
    } finally {
      await grid.close();
    }
  },
});

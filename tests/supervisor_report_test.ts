/**
 * The agent as supervisor (issue 12, finding 5): a wrapper whose `end`
 * frame claims a final state the broker refuses (a forged frame) must not
 * leave the job active at the broker. A real broker and a real wrapper
 * process (a dishonest stand-in) through the agent's own `runWrapper`.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { runWrapper } from "../src/agent/run_wrapper.ts";
import type { MatchedJob } from "../src/agent/run_wrapper.ts";
import { startGrid } from "./_grid.ts";
import { job, trace } from "./_agent_helpers.ts";

const FORGER = new URL("./fixtures/forging_wrapper.ts", import.meta.url)
  .pathname;

Deno.test("supervisor: a forged end frame (DONE while RUNNING) ends the job ERROR_E 'wrapper protocol violated'", async () => {
  const grid = await startGrid();
  try {
    const id = await grid.submit(`Executable = "/bin/true";\nTTL = 60;\n`);
    const agent = await grid.client(grid.agentTokenDir);
    const m = (await agent.json<MatchedJob>("POST", "/api/v1/match", {
      ce: "local::ce",
      site: "local",
      ttl: 3600,
      cpuCores: 1,
      memory: 0,
      disk: 0,
      packages: [],
      containers: ["none"],
    }))!;
    assertEquals(m.jobId, id);
    for (const state of ["STARTED", "RUNNING"]) {
      await agent.json("POST", `/api/v1/jobs/${id}/status`, { state });
    }
    const sandbox = await Deno.makeTempDir({ prefix: "splitpilot-sup-" });
    const lines: string[] = [];
    const outcome = await runWrapper({
      job: m,
      launch: {
        argv: [Deno.execPath(), "run", "--no-prompt", FORGER],
        spec: {
          argv: [],
          sandbox,
          binds: [],
          env: { NO_COLOR: "1", PATH: "/usr/bin:/bin" },
          network: "host",
        },
        denoFlags: [],
      },
      sandbox,
      broker: agent,
      brokerUrl: grid.url,
      siteMap: {},
      groupKill: true,
      log: (l) => lines.push(l),
    });
    assertEquals(outcome.state, "ERROR_E", lines.join("\n"));
    const j = await job(grid, id);
    assertEquals(j.state, "ERROR_E", lines.join("\n"));
    const last = (await trace(grid, id)).at(-1)!;
    assertStringIncludes(last.reason, "wrapper protocol violated");
    assertStringIncludes(last.actor, "JOB_AGENT");
  } finally {
    await grid.close();
  }
});

import { assertEquals, assertExists } from "@std/assert";
import type { MatchedJob } from "../src/agent/run_wrapper.ts";
import { startBenchGrid } from "./_bench_grid.ts";

Deno.test("bench grid counts requests by caller and endpoint", async () => {
  const grid = await startBenchGrid();
  try {
    const ids = await grid.submit(`Executable = "/bin/true";\nTTL = 60;\n`, 3);
    assertEquals(ids.length, 3);
    const job = await grid.agent.json<MatchedJob>("POST", "/api/v1/match", {
      ce: "local::ce",
      site: "local",
      ttl: 3600,
      cpuCores: 1,
      containers: ["none"],
    });
    assertExists(job?.token.certPem);
    await grid.agent.json("GET", `/api/v1/jobs/${job!.jobId}`);
    assertEquals(Object.fromEntries(grid.counts), {
      "user submit": 3,
      "agent match": 1,
      "agent job": 1,
    });
  } finally {
    await grid.close();
  }
});

import { assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import { benchThroughput } from "./throughput.ts";

Deno.test("throughput: a few jobs through real agents, round trips and syncs counted", async () => {
  const [rate, rate2, trips, syncs] = await benchThroughput({
    jobs: 6,
    containers: "none",
  });
  for (const r of [rate, rate2]) {
    assertGreater(r.ours, 0);
    assertEquals(r.unit, "jobs/s");
    assertEquals(r.met, r.ours >= 25);
    assertStringIncludes(r.note!, "6/6 DONE");
  }
  assertStringIncludes(rate2.measure, "2 agents");
  // Every job is matched once, reports its start and its end.
  assertGreater(trips.ours, 3);
  assertStringIncludes(trips.note!, "agent match");
  assertStringIncludes(trips.note!, "job batch 2");
  assertGreater(syncs.ours, 0);
});

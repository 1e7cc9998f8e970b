import { assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import { benchThroughput } from "./throughput.ts";

Deno.test("throughput: a few jobs through a real agent, round trips counted", async () => {
  const [rate, trips] = await benchThroughput({ jobs: 6, containers: "none" });
  assertGreater(rate.ours, 0);
  assertEquals(rate.unit, "jobs/s");
  assertEquals(rate.met, rate.ours >= 15);
  assertStringIncludes(rate.note!, "6/6 DONE");
  // Every job is matched once and reports at least STARTED and DONE.
  assertGreater(trips.ours, 3);
  assertStringIncludes(trips.note!, "agent match");
  assertStringIncludes(trips.note!, "job status 4");
});

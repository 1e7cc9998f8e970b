import { assertEquals } from "@std/assert";
import { SiteRegistry } from "./site_registry.ts";

Deno.test("site registry: agents per site, factory counts, running jobs, last contact", () => {
  const r = new SiteRegistry();
  const t = 1_000_000;
  r.agentSeen("fp-a", "CERN", 8, t);
  r.agentSeen("fp-b", "CERN", 4, t + 10);
  r.agentSeen("fp-c", "GSI", 1, t + 20);
  r.factoryReport("CERN", {
    batch: "slurm",
    pilots: { queued: 2, running: 2, finished: 5, failed: 1 },
    failures: Array.from(
      { length: 30 },
      (_, i) => ({ id: `${i}`, reason: "FAILED", at: t }),
    ),
  }, t + 30);
  const v = r.view(["fp-a", "fp-a", "fp-c", "fp-unknown"], t + 40);
  assertEquals(v.map((s) => [s.site, s.agents, s.cores, s.jobsRunning]), [
    ["CERN", 2, 12, 2],
    ["GSI", 1, 1, 1],
  ]);
  assertEquals(v[0].lastContact, t + 30);
  assertEquals(v[0].factory!.failures.length, 20, "only the last 20 failures");
  // An hour without contact: the agent is no longer counted.
  r.touch("fp-b", t + 1000);
  const later = r.view([], t + 3600_000 + 500);
  assertEquals(later.find((s) => s.site === "CERN")!.agents, 1);
  assertEquals(later.find((s) => s.site === "GSI"), undefined);
});

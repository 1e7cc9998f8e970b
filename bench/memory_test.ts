import { assertEquals, assertGreater, assertLess } from "@std/assert";
import { benchMemory } from "./memory.ts";

Deno.test("memory: RSS of a real agent and wrapper while payloads run", async () => {
  // Payloads sleep 6 s: 1 s settles, the rest leaves a loaded CI box (slow
  // `ps`) time for steady samples; at 2 s it sometimes took none at all.
  const rows = await benchMemory({ jobs: 2, seconds: 6, jvm: "skipped: here" });
  assertEquals(rows.length, 2);
  for (const r of rows) {
    // A Deno process is tens of MB; anything outside 5–500 MB is a bug.
    assertGreater(r.ours, 5);
    assertLess(r.ours, 500);
    assertEquals(r.met, r.ours <= 60);
    assertEquals(r.baseline, undefined);
  }
});

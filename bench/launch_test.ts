import { assertEquals, assertGreater, assertLess } from "@std/assert";
import { benchLaunch } from "./launch.ts";

Deno.test("launch: ours and the floors are measured in one run", async () => {
  const rows = await benchLaunch({
    rounds: 1,
    jvm: "skipped: in this test",
    images: false,
  });
  const none = rows.find((r) => r.measure.startsWith("launch overhead, none"));
  assertGreater(none!.ours, 0);
  assertGreater(none!.baseline!, 0);
  // ours and baseline are rounded to 3 digits, the ratio is of the raw ones.
  const ratio = none!.ours / none!.baseline!;
  assertLess(Math.abs(none!.ratio! - ratio), 0.01 * ratio);
  assertEquals(none!.met, none!.ratio! <= 1.5);
  const jvm = rows.find((r) => r.measure.includes("two-JVM"));
  assertEquals(jvm?.note, "skipped: in this test");
});

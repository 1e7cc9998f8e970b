import { assertEquals, assertGreater } from "@std/assert";
import { benchPipeRows } from "./pipe.ts";

Deno.test("pipe rows: ours and cat measured, ratio of the medians", async () => {
  const [row] = await benchPipeRows({ bytes: 8 * 1024 * 1024, rounds: 2 });
  assertGreater(row.ours, 0);
  assertGreater(row.baseline!, 0);
  assertEquals(row.unit, "MB/s");
  assertEquals(row.met, row.ratio! >= 0.5);
  assertEquals(row.measure.startsWith("pipe: 8 MiB"), true);
});

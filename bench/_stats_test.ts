import { assertEquals, assertThrows } from "@std/assert";
import { describe, round, summarize } from "./_stats.ts";

Deno.test("summarize: odd and even counts, unsorted input", () => {
  assertEquals(summarize([5, 1, 3]), { min: 1, median: 3, max: 5, n: 3 });
  assertEquals(summarize([4, 1, 3, 2]), {
    min: 1,
    median: 2.5,
    max: 4,
    n: 4,
  });
});

Deno.test("summarize: rejects empty and non-finite samples", () => {
  assertThrows(() => summarize([]), RangeError, "empty");
  assertThrows(() => summarize([1, NaN]), RangeError, "non-finite");
});

Deno.test("round and describe", () => {
  assertEquals(round(123.456), 123);
  assertEquals(round(0.0012345, 2), 0.0012);
  assertEquals(
    describe(summarize([10.04, 20, 30]), "ms"),
    "min 10, median 20, max 30 ms (n=3)",
  );
});

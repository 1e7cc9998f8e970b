import { assertEquals } from "@std/assert";
import { RateLimit } from "./rate_limit.ts";

Deno.test("RateLimit: a burst, then the sustained rate (time passed in, never slept)", () => {
  const t0 = Date.now();
  const limit = new RateLimit(10, 3, t0);
  assertEquals([1, 2, 3, 4].map(() => limit.take(t0)), [
    true,
    true,
    true,
    false,
  ]);
  assertEquals(limit.take(t0 + 100), true); // 0.1 s at 10/s: one more
  assertEquals(limit.take(t0 + 100), false);
  assertEquals(limit.take(t0 + 60_000), true); // refilled, but to the burst only
  assertEquals([1, 2, 3].map(() => limit.take(t0 + 60_000)), [
    true,
    true,
    false,
  ]);
});

Deno.test("RateLimit: a time from before the bucket was made takes nothing away", () => {
  const limit = new RateLimit(10, 3);
  const before = Date.now() - 5_000;
  assertEquals([1, 2, 3, 4].map(() => limit.take(before)), [
    true,
    true,
    true,
    false,
  ]);
});

import { assertEquals, assertThrows } from "@std/assert";
import { RuntimeHealth } from "./health.ts";

Deno.test("health: unhealthy after maxFailures in a row, reset by a start", () => {
  const h = new RuntimeHealth({ maxFailures: 2 });
  assertEquals([h.healthy, h.reason], [true, undefined]);
  h.failed("no hello");
  h.started();
  h.failed("a");
  assertEquals(h.healthy, true);
  h.failed("podman: exit 125");
  assertEquals(h.healthy, false);
  assertEquals(
    h.reason,
    "2 wrapper start(s) failed in a row; last: podman: exit 125",
  );
  assertThrows(
    () => new RuntimeHealth({ maxFailures: 0 }),
    RangeError,
    "maxFailures 0",
  );
});

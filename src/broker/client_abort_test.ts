import { assertEquals } from "@std/assert";
import { isClientAbort } from "./client_abort.ts";

Deno.test("isClientAbort: resets and aborted bodies, not broker faults", () => {
  const reset = Object.assign(new Error("read ECONNRESET"), {
    code: "ECONNRESET",
  });
  assertEquals(isClientAbort(reset), true);
  assertEquals(isClientAbort(new Error("aborted")), true);
  assertEquals(isClientAbort(new TypeError("x", { cause: reset })), true);
  assertEquals(isClientAbort(new DOMException("gone", "AbortError")), true);
  assertEquals(isClientAbort(new Error("disk full")), false);
  assertEquals(isClientAbort(new RangeError("bad")), false);
  assertEquals(isClientAbort(undefined), false);
});

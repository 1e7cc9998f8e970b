import { assertEquals, assertThrows } from "@std/assert";
import { brokerHostPort, timeLeftSeconds } from "./slot_time.ts";

Deno.test("timeLeftSeconds: the slot's end or the token's, less the margins", () => {
  // Slot ends first: 3600 s - 60 s margin.
  assertEquals(timeLeftSeconds(0, 3_600_000, 7_200_000, 60), 3540);
  // Token ends first: its notAfter less the margin twice (heartbeats).
  assertEquals(timeLeftSeconds(0, 7_200_000, 3_600_000, 60), 3480);
  // Past the end: negative, never a promise.
  assertEquals(timeLeftSeconds(10_000, 5_000, 20_000, 0), -5);
});

Deno.test("brokerHostPort: host:port of an https URL, 443 by default", () => {
  assertEquals(brokerHostPort("https://127.0.0.1:8443"), "127.0.0.1:8443");
  assertEquals(brokerHostPort("https://broker.example"), "broker.example:443");
  assertEquals(brokerHostPort("https://[::1]:9"), "[::1]:9");
  assertThrows(
    () => brokerHostPort("http://127.0.0.1:8443"),
    TypeError,
    "--broker http://127.0.0.1:8443: expected an https:// URL",
  );
});

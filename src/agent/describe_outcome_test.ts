import { assertEquals } from "@std/assert";
import { describeOutcome } from "./describe_outcome.ts";

Deno.test("describeOutcome: state, exit, kill reason, message and usage on one line", () => {
  assertEquals(
    describeOutcome({
      state: "DONE",
      exitCode: 0,
      stage: "DONE",
      startedAt: 0,
      endedAt: 1,
    }),
    "DONE (exit 0)",
  );
  assertEquals(
    describeOutcome({
      state: "ERROR_E",
      exitCode: 143,
      killReason: 20,
      message: "watchdog: TTL",
      stage: "RUNNING",
      usage: {
        cpuSeconds: 1.25,
        rssBytes: 0,
        maxRssBytes: 3 * 2 ** 20,
        wallSeconds: 10,
        diskBytes: 2 ** 20,
      },
      startedAt: 0,
      endedAt: 1,
    }),
    "ERROR_E (exit 143, kill reason 20): watchdog: TTL [cpu 1.3 s, max PSS 3.0 MB, wall 10.0 s, disk 1.0 MB]",
  );
});

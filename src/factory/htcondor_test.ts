import { assertEquals, assertStringIncludes } from "@std/assert";
import { HtcondorBatch } from "./htcondor.ts";

Deno.test("htcondor: submit description, condor_q argv and its parsing (from the documented CLI)", () => {
  const d = HtcondorBatch.submitDescription({
    script: "/srv/pilot.sh",
    name: "splitpilot-CERN",
    cores: 8,
    ttlSeconds: 3600,
    logDir: "/srv/log",
  });
  for (
    const line of [
      "executable = /srv/pilot.sh",
      "request_cpus = 8",
      '+SplitpilotFactory = "splitpilot-CERN"',
      "getenv = false",
      "queue 1",
    ]
  ) assertStringIncludes(d, line);
  assertEquals(HtcondorBatch.statusArgv("splitpilot-CERN"), [
    "condor_q",
    "-constraint",
    'SplitpilotFactory == "splitpilot-CERN"',
    "-af",
    "ClusterId",
    "JobStatus",
    "HoldReason",
  ]);
  assertEquals(
    HtcondorBatch.parseStatus(
      "7 1 undefined\n8 2 undefined\n9 5 disk quota\nbad\n",
    ),
    [
      { id: "7", state: "queued", raw: "Idle", reason: undefined },
      { id: "8", state: "running", raw: "Running", reason: undefined },
      { id: "9", state: "queued", raw: "Held", reason: "disk quota" },
    ],
  );
});

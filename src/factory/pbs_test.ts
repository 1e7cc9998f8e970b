import { assertEquals } from "@std/assert";
import { PbsBatch } from "./pbs.ts";

Deno.test("pbs: qsub argv and qstat JSON parsing (from the documented CLI)", () => {
  assertEquals(
    new PbsBatch("grid").submitArgv({
      script: "/srv/pilot.sh",
      name: "splitpilot-CERN",
      cores: 4,
      ttlSeconds: 5400,
      logDir: "/srv/log",
    }),
    [
      "qsub",
      "-N",
      "splitpilot-CERN",
      "-l",
      "select=1:ncpus=4",
      "-l",
      "walltime=01:30:00",
      "-q",
      "grid",
      "-o",
      "/srv/log/",
      "-e",
      "/srv/log/",
      "/srv/pilot.sh",
    ],
  );
  const json = JSON.stringify({
    Jobs: {
      "10.server": { Job_Name: "splitpilot-CERN", job_state: "Q" },
      "11.server": { Job_Name: "splitpilot-CERN", job_state: "R" },
      "12.server": {
        Job_Name: "splitpilot-CERN",
        job_state: "F",
        Exit_status: 0,
      },
      "13.server": {
        Job_Name: "splitpilot-CERN",
        job_state: "F",
        Exit_status: 271,
      },
      "14.server": { Job_Name: "other", job_state: "R" },
    },
  });
  assertEquals(PbsBatch.parseStatus(json, "splitpilot-CERN"), [
    { id: "10", state: "queued", raw: "Q" },
    { id: "11", state: "running", raw: "R" },
    { id: "12", state: "finished", raw: "F" },
    { id: "13", state: "failed", raw: "F" },
  ]);
  assertEquals(PbsBatch.parseStatus("not json", "x"), []);
});

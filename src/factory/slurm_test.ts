import { assertEquals } from "@std/assert";
import { SlurmBatch, slurmState } from "./slurm.ts";

const REQ = {
  script: "/srv/f/scripts/pilot-1.sh",
  name: "splitpilot-CERN",
  cores: 8,
  ttlSeconds: 86400,
  logDir: "/srv/f/log",
};

Deno.test("slurm: sbatch argv (golden)", () => {
  assertEquals(
    new SlurmBatch({ partition: "grid", binDir: "/usr/bin" }).submitArgv(REQ),
    [
      "/usr/bin/sbatch",
      "--parsable",
      "--job-name",
      "splitpilot-CERN",
      "--cpus-per-task",
      "8",
      "--ntasks",
      "1",
      "--nodes",
      "1",
      "--time",
      "1440",
      "--signal",
      "B:TERM@60",
      "--partition",
      "grid",
      "--output",
      "/srv/f/log/%j.out",
      "--error",
      "/srv/f/log/%j.err",
      "--export",
      "NIL",
      "/srv/f/scripts/pilot-1.sh",
    ],
  );
  // A request's own queue wins; no partition at all is left to Slurm.
  assertEquals(
    new SlurmBatch().submitArgv({ ...REQ, queue: "short", ttlSeconds: 61 })
      .slice(0, 16).filter((_, i) => [0, 11, 14, 15].includes(i)),
    ["sbatch", "2", "--partition", "short"],
  );
});

Deno.test("slurm: squeue lists by name; its states map to pilot states", () => {
  assertEquals(new SlurmBatch().statusArgv("splitpilot-CERN"), [
    "squeue",
    "--noheader",
    "--states",
    "all",
    "--name",
    "splitpilot-CERN",
    "--format",
    "%i|%T|%r",
  ]);
  assertEquals(
    SlurmBatch.parseStatus(
      "12|PENDING|Resources\n13|RUNNING|None\n14|CANCELLED|None\n15|TIMEOUT|None\n\n16_1|COMPLETED|None\ngarbage\n",
    ),
    [
      { id: "12", state: "queued", raw: "PENDING", reason: "Resources" },
      { id: "13", state: "running", raw: "RUNNING", reason: undefined },
      { id: "14", state: "cancelled", raw: "CANCELLED", reason: undefined },
      { id: "15", state: "failed", raw: "TIMEOUT", reason: undefined },
      { id: "16_1", state: "finished", raw: "COMPLETED", reason: undefined },
    ],
  );
  assertEquals(slurmState("CANCELLED by 0"), "cancelled");
  assertEquals(slurmState("COMPLETING"), "running");
  assertEquals(slurmState("SOMETHING_NEW"), "failed");
});

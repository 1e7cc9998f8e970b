import { assertEquals, assertThrows } from "@std/assert";
import { ApptainerDriver } from "./apptainer.ts";
import { ContainerError } from "./driver.ts";
import { SingularityDriver } from "./singularity.ts";
import { goldenSpec } from "./_testing.ts";

const TAIL = [
  "--bind",
  "/host/work/job-1:/workdir",
  "--bind",
  "/host/bin/deno:/opt/splitpilot/deno:ro",
  "--bind",
  "/host/sp/src:/opt/splitpilot/src:ro",
  "--pwd",
  "/workdir",
  "--env",
  "HOME=/workdir",
  "--env",
  "PATH=/usr/bin:/bin",
  "/host/sw/containers/default/20240101T000000Z",
  "/opt/splitpilot/deno",
  "run",
  "/opt/splitpilot/wrapper.ts",
];

Deno.test("apptainer: exec argv with a sandbox image", () => {
  assertEquals(new ApptainerDriver().command(goldenSpec()), [
    "/usr/bin/apptainer",
    "exec",
    "--containall",
    "--no-home",
    "--cleanenv",
    "--pid",
    ...TAIL,
  ]);
});

Deno.test("singularity: same argv, own binary, network none", () => {
  assertEquals(
    new SingularityDriver({ binary: "/cvmfs/bin/singularity" }).command(
      goldenSpec({ network: "none" }),
    ),
    [
      "/cvmfs/bin/singularity",
      "exec",
      "--containall",
      "--no-home",
      "--cleanenv",
      "--pid",
      "--net",
      "--network",
      "none",
      ...TAIL,
    ],
  );
});

Deno.test("apptainer: refuses no image and ':' in bind paths", () => {
  assertThrows(
    () => new ApptainerDriver().command(goldenSpec({ image: undefined })),
    ContainerError,
    "apptainer needs a directory image",
  );
  assertThrows(
    () => new SingularityDriver().command(goldenSpec({ sandbox: "/a:b" })),
    ContainerError,
    "singularity: path /a:b",
  );
});

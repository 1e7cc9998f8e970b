import { assertEquals, assertThrows } from "@std/assert";
import { DockerDriver } from "./docker.ts";
import { ContainerError } from "./driver.ts";
import { goldenSpec } from "./_testing.ts";

Deno.test("docker: run argv with the job's image reference", () => {
  assertEquals(
    new DockerDriver().command(
      goldenSpec({ image: undefined, imageRef: "alice/el9:2024-01" }),
    ),
    [
      "/usr/bin/docker",
      "run",
      "--rm",
      "-i",
      "--network",
      "host",
      "--ipc",
      "private",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--tmpfs",
      "/tmp:rw,nosuid,nodev,mode=1777",
      "--log-driver",
      "none",
      "--tmpfs",
      "/opt/splitpilot:ro",
      "-v",
      "/host/work/job-1:/workdir",
      "-v",
      "/host/bin/deno:/opt/splitpilot/deno:ro",
      "-v",
      "/host/sp/src:/opt/splitpilot/src:ro",
      "-w",
      "/workdir",
      "-e",
      "HOME=/workdir",
      "-e",
      "PATH=/usr/bin:/bin",
      "alice/el9:2024-01",
      "/opt/splitpilot/deno",
      "run",
      "/opt/splitpilot/wrapper.ts",
    ],
  );
});

Deno.test("docker: default image, network none; no directory images", () => {
  const d = new DockerDriver({
    binary: "/usr/local/bin/docker",
    image: "debian:12",
  });
  const argv = d.command(goldenSpec({ image: undefined, network: "none" }));
  assertEquals(argv.slice(0, 6), [
    "/usr/local/bin/docker",
    "run",
    "--rm",
    "-i",
    "--network",
    "none",
  ]);
  assertEquals(argv[argv.indexOf("/opt/splitpilot/deno", 25) - 1], "debian:12");
  assertThrows(
    () => d.command(goldenSpec()),
    ContainerError,
    "directory image",
  );
});

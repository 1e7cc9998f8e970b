import { assertEquals, assertThrows } from "@std/assert";
import { DOCKER_PAYLOAD_USER, DockerDriver, dockerImageRef } from "./docker.ts";
import { ContainerError } from "./driver.ts";
import { goldenSpec } from "./_testing.ts";

Deno.test("docker: run argv, safe by default, with the job's image reference", () => {
  assertEquals(
    new DockerDriver({ host: "unix:///run/sp/docker.sock" }).command(
      goldenSpec({ image: undefined, imageRef: "alice/el9:2024-01" }),
    ),
    [
      "/usr/bin/docker",
      "-H",
      "unix:///run/sp/docker.sock",
      "run",
      "--rm",
      "-i",
      "--pull",
      "never",
      "--label",
      "splitpilot.work=/host/work",
      "--label",
      "splitpilot.sandbox=/host/work/job-1",
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
      `/tmp:rw,nosuid,nodev,size=${512 * 2 ** 20},mode=1777`,
      "--pids-limit",
      "4096",
      "--user",
      DOCKER_PAYLOAD_USER,
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

Deno.test("docker: memory and pids from the kernel limits bound /tmp too; user false keeps the image's", () => {
  const d = new DockerDriver({
    binary: "/usr/local/bin/docker",
    user: false,
    host: "",
  });
  const cap = 300 * 2 ** 20;
  const argv = d.command(
    goldenSpec({
      image: undefined,
      network: "none",
      resources: { memoryBytes: cap, pids: 99 },
    }),
  );
  assertEquals(argv.slice(0, 3), ["/usr/local/bin/docker", "run", "--rm"]);
  const at = argv.indexOf("--memory");
  assertEquals(argv.slice(at, at + 4), [
    "--memory",
    String(cap),
    "--memory-swap",
    String(cap),
  ]);
  assertEquals(argv[argv.indexOf("--pids-limit") + 1], "99");
  assertEquals(
    argv.includes(`/tmp:rw,nosuid,nodev,size=${cap},mode=1777`),
    true,
  );
  assertEquals(argv.includes("--user"), false);
  assertEquals(argv[argv.indexOf("--network") + 1], "none");
  assertEquals(
    argv[argv.indexOf("/opt/splitpilot/deno", 30) - 1],
    "splitpilot/default:latest",
  );
});

Deno.test("docker: JDL Container names map onto splitpilot/NAME:latest; references pass", () => {
  assertEquals(dockerImageRef("default"), "splitpilot/default:latest");
  assertEquals(dockerImageRef("el9"), "splitpilot/el9:latest");
  assertEquals(
    dockerImageRef("splitpilot/el9:20240101"),
    "splitpilot/el9:20240101",
  );
  assertEquals(dockerImageRef("debian:12"), "debian:12");
  for (const bad of ["", "-v", "a b", "$(x)", "--privileged"]) {
    assertThrows(
      () => dockerImageRef(bad),
      ContainerError,
      "expected a name or a docker reference",
    );
  }
});

Deno.test("docker: refuses directory images, bad paths and non-numeric users", () => {
  const d = new DockerDriver({ host: "" });
  assertThrows(
    () => d.command(goldenSpec()),
    ContainerError,
    "directory image",
  );
  assertThrows(
    () => d.command(goldenSpec({ image: undefined, sandbox: "/a:b" })),
    ContainerError,
    "docker: path /a:b",
  );
  assertThrows(
    () => new DockerDriver({ user: "nobody" }),
    ContainerError,
    "numeric uid:gid",
  );
});

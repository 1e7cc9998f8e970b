import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ContainerError } from "./driver.ts";
import { PodmanDriver } from "./podman.ts";
import { goldenSpec } from "./_test_spec.ts";

Deno.test("podman: argv, --rootfs last before the command", () => {
  assertEquals(new PodmanDriver().command(goldenSpec()), [
    "/usr/bin/podman",
    "run",
    "--rm",
    "-i",
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
    "--cgroups=no-conmon",
    "--log-driver",
    "none",
    "--label",
    "splitpilot.sandbox=/host/work/job-1",
    "--network",
    "host",
    "--pid",
    "private",
    "--ipc",
    "private",
    "--uts",
    "private",
    "--uidmap",
    "0:524288:65536",
    "--gidmap",
    "0:524288:65536",
    "--cap-drop",
    "all",
    "--security-opt",
    "no-new-privileges",
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs",
    "/tmp:rw,nosuid,nodev,mode=1777",
    "--mount",
    "type=tmpfs,destination=/opt/splitpilot,ro=true",
    "--mount",
    "type=bind,source=/host/work/job-1,destination=/workdir",
    "--mount",
    "type=bind,source=/host/bin/deno,destination=/opt/splitpilot/deno,ro",
    "--mount",
    "type=bind,source=/host/sp/src,destination=/opt/splitpilot/src,ro",
    "--workdir",
    "/workdir",
    "--env",
    "HOME=/workdir",
    "--env",
    "PATH=/usr/bin:/bin",
    "--rootfs",
    "/host/sw/containers/default/20240101T000000Z",
    "/opt/splitpilot/deno",
    "run",
    "/opt/splitpilot/wrapper.ts",
  ]);
});

Deno.test("podman: options, network none, no user namespace", () => {
  const argv = new PodmanDriver({
    binary: "/opt/podman",
    runtime: "/opt/runc",
    ulimits: ["nofile=1024:1024"],
    idMap: false,
    cgroupParent: "/slot",
  }).command(goldenSpec({ network: "none" }));
  assertEquals(argv.slice(0, 13), [
    "/opt/podman",
    "run",
    "--rm",
    "-i",
    "--runtime",
    "/opt/runc",
    "--ulimit",
    "nofile=1024:1024",
    "--cgroups=no-conmon",
    "--cgroup-parent",
    "/slot",
    "--log-driver",
    "none",
  ]);
  assertEquals(argv.slice(15, 17), ["--network", "none"]);
  assertEquals(argv.includes("--uidmap"), false);
});

Deno.test("podman: refuses no image and commas in paths", () => {
  const d = new PodmanDriver();
  assertThrows(
    () => d.command(goldenSpec({ image: undefined })),
    ContainerError,
    "podman needs a directory image",
  );
  assertThrows(
    () => d.command(goldenSpec({ sandbox: "/a,b" })),
    ContainerError,
    "contains a comma",
  );
});

Deno.test("podman: prepare hands the sandbox to the mapped root", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = new PodmanDriver({ idMap: { base: 123456, size: 65536 } });
    const spec = goldenSpec({ sandbox: dir });
    // The owner of a file we just made is our uid (Deno.uid needs --allow-sys).
    const root = (await Deno.stat(dir)).uid === 0;
    if (root) {
      await d.prepare(spec);
      const st = await Deno.stat(dir);
      assertEquals([st.uid, st.gid], [123456, 123456]);
    } else {
      await assertRejects(() => d.prepare(spec), ContainerError, "as root");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("podman: job limits, payload user caps and /tmp on the sandbox", () => {
  const argv = new PodmanDriver().command(goldenSpec({
    payloadUser: { uid: 65534, gid: 65534 },
    tmp: "/host/work/job-1/.tmp",
    resources: { memoryBytes: 200_000_000, pids: 4096 },
  }));
  const after = (flag: string) =>
    argv.flatMap((a, i) => a === flag ? [argv[i + 1]] : []);
  assertEquals(after("--cap-drop"), ["all"]);
  assertEquals(after("--cap-add"), ["CAP_SETUID", "CAP_SETGID", "CAP_KILL"]);
  assertEquals(after("--memory"), ["200000000"]);
  assertEquals(after("--memory-swap"), ["200000000"]);
  assertEquals(after("--pids-limit"), ["4096"]);
  assertEquals(after("--tmpfs"), []);
  assertEquals(
    after("--mount").includes(
      "type=bind,source=/host/work/job-1/.tmp,destination=/tmp",
    ),
    true,
  );
});

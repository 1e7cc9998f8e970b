import { assertEquals } from "@std/assert";
import { BwrapDriver } from "./bwrap.ts";
import { goldenSpec } from "./_test_spec.ts";

Deno.test("bwrap: image mode argv", () => {
  assertEquals(new BwrapDriver().command(goldenSpec()), [
    "/usr/bin/bwrap",
    "--unshare-all",
    "--share-net",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/host/sw/containers/default/20240101T000000Z",
    "/",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--bind",
    "/host/work/job-1",
    "/workdir",
    "--tmpfs",
    "/opt/splitpilot",
    "--ro-bind",
    "/host/bin/deno",
    "/opt/splitpilot/deno",
    "--ro-bind",
    "/host/sp/src",
    "/opt/splitpilot/src",
    "--remount-ro",
    "/opt/splitpilot",
    "--remount-ro",
    "/",
    "--chdir",
    "/workdir",
    "--clearenv",
    "--setenv",
    "HOME",
    "/workdir",
    "--setenv",
    "PATH",
    "/usr/bin:/bin",
    "--",
    "/opt/splitpilot/deno",
    "run",
    "/opt/splitpilot/wrapper.ts",
  ]);
});

Deno.test("bwrap: host-rootfs mode, no network, binary override", () => {
  const argv = new BwrapDriver({ binary: "/opt/bin/bwrap" }).command(
    goldenSpec({ image: undefined, network: "none", scratch: [], binds: [] }),
  );
  assertEquals(argv.slice(0, 8), [
    "/opt/bin/bwrap",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--ro-bind-try",
    "/usr",
  ]);
  assertEquals(argv.includes("--share-net"), false);
  // Only system dirs: no home, no work root, no /root.
  const bound = argv.flatMap((a, i) =>
    a === "--ro-bind-try" ? [argv[i + 1]] : []
  );
  assertEquals(bound, [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/etc",
  ]);
});

Deno.test("bwrap: a payload user keeps the wrapper's few caps, no user namespace, /tmp on the sandbox", () => {
  const argv = new BwrapDriver().command(
    goldenSpec({
      payloadUser: { uid: 65534, gid: 65534 },
      tmp: "/host/work/job-1/.tmp",
    }),
  );
  assertEquals(argv.slice(0, 18), [
    "/usr/bin/bwrap",
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CAP_SETUID",
    "--cap-add",
    "CAP_SETGID",
    "--cap-add",
    "CAP_KILL",
    "--ro-bind",
    "/host/sw/containers/default/20240101T000000Z",
    "/",
  ]);
  const i = argv.indexOf("/tmp");
  assertEquals(argv.slice(i - 2, i + 1), [
    "--bind",
    "/host/work/job-1/.tmp",
    "/tmp",
  ]);
});

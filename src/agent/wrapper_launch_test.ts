import { assertEquals } from "@std/assert";
import { BwrapDriver } from "../container/bwrap.ts";
import { NoneDriver } from "../container/none.ts";
import { PodmanDriver } from "../container/podman.ts";
import { LEASE_SHIM } from "../container/lease.ts";
import { auditRelayArgv } from "./audit_relay.ts";
import {
  buildLaunch,
  keepWrapperCache,
  type LaunchInput,
  prepareLaunch,
  type WrapperProgram,
} from "./wrapper_launch.ts";

const PROGRAM: WrapperProgram = {
  deno: "/host/bin/deno",
  files: ["/host/sp/wrapper.ts", "/host/sp/src"],
  entry: "/host/sp/wrapper.ts",
};

function input(over: Partial<LaunchInput>): LaunchInput {
  return {
    driver: new BwrapDriver(),
    program: PROGRAM,
    sandbox: "/host/work/job-7",
    broker: "127.0.0.1:8443",
    payload: (w) => [`${w}/run.sh`],
    denoDir: "/host/work/.deno",
    ...over,
  };
}

const WRAPPER = [
  "/opt/splitpilot/deno",
  "run",
  "--no-config",
  "--no-lock",
  "--no-prompt",
  // No --allow-net: the agent relays the wrapper's broker calls.
  "--allow-read=/workdir",
  "--allow-write=/workdir",
  "--allow-run=/workdir/run.sh,/bin/sh",
  "--allow-env=HOME,PATH,TMPDIR,SPLITPILOT_*,NO_COLOR",
  "/opt/splitpilot/wrapper.ts",
  "--workdir",
  "/workdir",
];

Deno.test("launch: podman job with image, software dir, lease and warm cache", () => {
  const launch = buildLaunch(input({
    driver: new PodmanDriver(),
    image: "/img/v1",
    software: { root: "/host/sw", setup: true },
    wrapperCache: { mode: "use", dir: "/host/work/.wrapper-cache/podman" },
  }));
  assertEquals(launch.lease, "/host/work/job-7.lease");
  assertEquals(launch.cwd, "/host/work");
  assertEquals(launch.spec.binds, [
    { source: "/host/bin/deno", target: "/opt/splitpilot/deno" },
    { source: "/host/sp/wrapper.ts", target: "/opt/splitpilot/wrapper.ts" },
    { source: "/host/sp/src", target: "/opt/splitpilot/src" },
    { source: "/host/sw", target: "/opt/splitpilot/software" },
    { source: "/host/work/job-7.lease", target: "/opt/splitpilot/lease" },
    {
      source: "/host/work/.wrapper-cache/podman",
      target: "/opt/splitpilot/deno-dir",
    },
  ]);
  assertEquals(launch.spec.argv, [
    "/bin/sh",
    "-c",
    LEASE_SHIM,
    "splitpilot-lease",
    "/opt/splitpilot/lease",
    "/bin/sh",
    "-c",
    'cp -R /opt/splitpilot/deno-dir /tmp/.deno 2>/dev/null; exec "$@"',
    "splitpilot-cache",
    // The audit relay: podman's wrapper cannot reopen the agent's pipe.
    ...auditRelayArgv("/workdir", WRAPPER),
  ]);
  assertEquals(launch.audit, true);
  assertEquals(launch.spec.env, {
    HOME: "/workdir",
    PATH: "/usr/local/bin:/usr/bin:/bin",
    TMPDIR: "/tmp",
    NO_COLOR: "1",
    DENO_DIR: "/tmp/.deno",
    DENO_NO_UPDATE_CHECK: "1",
    SPLITPILOT_SOFTWARE: "/opt/splitpilot/software",
    SPLITPILOT_SETUP: "/opt/splitpilot/software/etc/setup.sh",
  });
  assertEquals(launch.spec.scratch, ["/opt/splitpilot"]);
  const rootfs = launch.argv.indexOf("--rootfs");
  assertEquals(launch.argv.slice(rootfs), [
    "--rootfs",
    "/img/v1",
    ...launch.spec.argv,
  ]);
});

Deno.test("launch: bwrap needs no lease; the probe fills its cache in the sandbox", () => {
  const launch = buildLaunch(input({
    payload: () => [],
    extraArgs: ["--self-test"],
    wrapperCache: { mode: "fill" },
  }));
  assertEquals(launch.lease, undefined);
  assertEquals(launch.spec.env.DENO_DIR, "/workdir/.deno-cache");
  // bwrap keeps the agent's uid: the wrapper reopens its stderr itself.
  assertEquals(launch.spec.env.DENO_AUDIT_PERMISSIONS, "/dev/stderr");
  assertEquals(launch.spec.argv[0], "/opt/splitpilot/deno");
  assertEquals(launch.spec.argv.at(-1), "--self-test");
  assertEquals(
    launch.denoFlags.some((f) => f.startsWith("--allow-run")),
    false,
  );
});

Deno.test("launch: none keeps host paths and the setup script's host path", () => {
  const launch = buildLaunch(input({
    driver: new NoneDriver({ reaper: false }),
    software: { root: "/host/sw", setup: true },
    wrapperCache: { mode: "use", dir: "/ignored" },
  }));
  assertEquals(launch.spec.binds, []);
  assertEquals(launch.cwd, "/host/work/job-7");
  assertEquals(launch.argv[0], "/host/bin/deno");
  assertEquals(launch.argv.includes("/host/sp/wrapper.ts"), true);
  assertEquals(launch.spec.env.DENO_DIR, "/host/work/.deno");
  assertEquals(launch.spec.env.SPLITPILOT_SETUP, "/host/sw/etc/setup.sh");
  assertEquals(
    launch.denoFlags.includes(
      "--allow-run=/host/work/job-7/run.sh,/bin/sh",
    ),
    true,
  );
});

Deno.test("launch: prepareLaunch holds the lease; keepWrapperCache moves the probe's cache", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sandbox = `${dir}/job-1`;
    await Deno.mkdir(`${sandbox}/.deno-cache/gen`, { recursive: true });
    const launch = buildLaunch(input({
      driver: new PodmanDriver({ idMap: false }),
      image: "/img/v1",
      sandbox,
    }));
    const hold = await prepareLaunch(
      new PodmanDriver({ idMap: false }),
      launch,
    );
    // A second exclusive lock on the same file must wait while we hold it.
    const other = await Deno.open(launch.lease!, { read: true });
    let got = false;
    const second = other.lock(true).then(() => got = true);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(got, false);
    await hold.release();
    await second;
    other.close();
    assertEquals(await Deno.stat(launch.lease!).then(() => 1, () => 0), 0);
    assertEquals(
      await keepWrapperCache(sandbox, `${dir}/cache/podman`),
      `${dir}/cache/podman`,
    );
    assertEquals(
      (await Deno.stat(`${dir}/cache/podman/gen`)).isDirectory,
      true,
    );
    assertEquals(await keepWrapperCache(sandbox, `${dir}/cache/x`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

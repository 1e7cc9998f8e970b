import { assertEquals, assertThrows } from "@std/assert";
import { ApptainerDriver } from "./apptainer.ts";
import { ContainerError } from "./driver.ts";
import { SingularityDriver } from "./singularity.ts";
import { goldenSpec } from "./_testing.ts";
import {
  INNER_SCRIPT,
  KEEP_WRAPPER,
  RUNTIME_LAUNCHER,
  SINGULARITY_PAYLOAD_UID,
} from "./_apptainer_like.ts";

const RUNTIME_ENV = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "LANG=C",
];

const BINDS = [
  "--bind",
  "/host/work/job-1:/workdir",
  "--bind",
  "/host/bin/deno:/opt/splitpilot/deno:ro",
  "--bind",
  "/host/sp/src:/opt/splitpilot/src:ro",
  "--pwd",
  "/workdir",
  "/host/sw/containers/default/20240101T000000Z",
  "/bin/sh",
  "-c",
  INNER_SCRIPT,
  "splitpilot-payload",
  String(SINGULARITY_PAYLOAD_UID),
  "/opt/splitpilot/deno",
  "run",
  "/opt/splitpilot/wrapper.ts",
];

const EXEC = [
  "exec",
  "--containall",
  "--no-home",
  "--cleanenv",
  "--pid",
  "--ipc",
];

Deno.test("apptainer 1.x: APPTAINERENV_ variables, --network none, no --env", () => {
  const d = new ApptainerDriver({
    binary: "/usr/bin/apptainer",
    version: "apptainer version 1.2.5",
  });
  assertEquals(d.command(goldenSpec({ network: "none" })), [
    RUNTIME_LAUNCHER,
    ...RUNTIME_ENV,
    "APPTAINERENV_HOME=/workdir",
    "APPTAINERENV_PATH=/usr/bin:/bin",
    "/usr/bin/apptainer",
    ...EXEC,
    "--net",
    "--network",
    "none",
    ...BINDS,
  ]);
});

Deno.test("singularity 2.6: SINGULARITYENV_ variables, --net alone for network none", () => {
  const d = new SingularityDriver({
    binary: "/opt/singularity-2.6.1/bin/singularity",
    version: "2.6.1-dist",
  });
  assertEquals(d.command(goldenSpec({ network: "none" })), [
    RUNTIME_LAUNCHER,
    ...RUNTIME_ENV,
    "SINGULARITYENV_HOME=/workdir",
    "SINGULARITYENV_PATH=/usr/bin:/bin",
    "/opt/singularity-2.6.1/bin/singularity",
    ...EXEC,
    "--net",
    ...BINDS,
  ]);
});

Deno.test("singularity 3.x/4.x: --network none; network host adds nothing", () => {
  for (
    const v of ["singularity version 3.8.7", "singularity-ce version 4.1.0"]
  ) {
    const d = new SingularityDriver({
      binary: "/cvmfs/bin/singularity",
      version: v,
    });
    const none = d.command(goldenSpec({ network: "none" }));
    assertEquals(
      none.slice(none.indexOf("--ipc") + 1, none.indexOf("--bind")),
      [
        "--net",
        "--network",
        "none",
      ],
    );
    const host = d.command(goldenSpec());
    assertEquals(host[host.indexOf("--ipc") + 1], "--bind");
    assertEquals(host.includes("--env"), false);
  }
});

Deno.test("apptainer/singularity: the frames' fd and the root drop in the scripts", () => {
  // The runtime's stdout goes to stderr; the wrapper gets fd 8 back as stdout.
  const launcher = Deno.readTextFileSync(RUNTIME_LAUNCHER).split("\n")
    .filter((l) => l && !l.startsWith("#"));
  assertEquals(launcher, ["exec 8>&1 1>&2", 'exec /usr/bin/env -i "$@"']);
  assertEquals((Deno.statSync(RUNTIME_LAUNCHER).mode ?? 0) & 0o111, 0o111);
  assertEquals(INNER_SCRIPT.split("\n")[0], "exec 1>&8 8>&-");
  for (
    const f of [
      "--no-new-privs",
      "--bounding-set=-all",
      "--inh-caps=-all",
      "--clear-groups",
    ]
  ) {
    assertEquals(INNER_SCRIPT.includes(f), true, f);
  }
});

Deno.test("apptainer/singularity: refuses no image, bad paths, bad env names, old or unknown versions", () => {
  const d = new SingularityDriver({
    binary: "/s/singularity",
    version: "2.6.1",
  });
  assertThrows(
    () =>
      new ApptainerDriver({ binary: "/a", version: "1.2" }).command(
        goldenSpec({ image: undefined }),
      ),
    ContainerError,
    "apptainer needs a directory image",
  );
  assertThrows(
    () => d.command(goldenSpec({ sandbox: "/a:b" })),
    ContainerError,
    "singularity: path /a:b",
  );
  assertThrows(
    () => d.command(goldenSpec({ env: { "A=B": "x" } })),
    ContainerError,
    "environment name",
  );
  assertThrows(
    () =>
      new SingularityDriver({ binary: "/s", version: "2.5.2" }).command(
        goldenSpec(),
      ),
    ContainerError,
    "too old; expected 2.6 or newer",
  );
  assertThrows(
    () =>
      new SingularityDriver({ binary: "/s", version: "garbage" }).command(
        goldenSpec(),
      ),
    ContainerError,
    "expected a version like",
  );
  assertThrows(
    () =>
      new SingularityDriver({ binary: "singularity", version: "2.6.1" })
        .command(goldenSpec()),
    ContainerError,
    "singularity: not found on PATH",
  );
});

Deno.test("singularity: a binary that cannot run --version fails with its path", () => {
  assertThrows(
    () =>
      new SingularityDriver({ binary: "/nonexistent/singularity" }).command(
        goldenSpec(),
      ),
    ContainerError,
    "cannot run /nonexistent/singularity --version",
  );
});

Deno.test("singularity: what the runtime prints on stdout never reaches the frame pipe", async () => {
  // A stand-in for the runtime that, like singularity 2.6, writes a
  // coloured warning on its stdout, then runs the command after the image
  // (on the host, so never as root).
  const dir = await Deno.makeTempDir();
  try {
    const fake = `${dir}/singularity`;
    await Deno.writeTextFile(
      fake,
      `#!/bin/sh
printf '\\033[33mWARNING: runtime noise\\033[0m\\n'
while [ "$1" != "${goldenSpec().image}" ]; do shift; done; shift
# Not as root: the command's root branch is for inside a container only.
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
fi
exec "$@"
`,
    );
    await Deno.chmod(fake, 0o755);
    const d = new SingularityDriver({ binary: fake, version: "2.6.1" });
    const [cmd, ...args] = d.command(
      goldenSpec({ argv: ["/bin/sh", "-c", "echo FRAMES; echo err >&2"] }),
    );
    const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const dec = new TextDecoder();
    assertEquals(out.success, true, dec.decode(out.stderr));
    assertEquals(dec.decode(out.stdout), "FRAMES\n");
    const err = dec.decode(out.stderr);
    assertEquals(err.includes("WARNING: runtime noise"), true, err);
    assertEquals(err.includes("err"), true, err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("singularity as root with a payload user: /tmp from the sandbox, wrapper keeps uid 0 with SETUID/SETGID/KILL", () => {
  const d = new SingularityDriver({
    binary: "/opt/singularity-2.6.1/bin/singularity",
    version: "2.6.1-dist",
  });
  const argv = d.command(goldenSpec({
    payloadUser: { uid: 65534, gid: 65534 },
    tmp: "/host/work/job-1/.tmp",
  }));
  const bind = argv.indexOf("/host/work/job-1/.tmp:/tmp");
  assertEquals(argv[bind - 1], "--bind");
  assertEquals(argv[argv.indexOf("splitpilot-payload") + 1], KEEP_WRAPPER);
  // The wrapper's bounding set: exactly what it needs to start the payload.
  for (
    const flag of [
      "--inh-caps=-all,+setuid,+setgid,+kill",
      "--ambient-caps=-all,+setuid,+setgid,+kill",
      "--bounding-set=-all",
    ]
  ) {
    assertEquals(INNER_SCRIPT.includes(flag), true, flag);
  }
  assertThrows(
    () => d.command(goldenSpec({ tmp: "/host/a:b/.tmp" })),
    ContainerError,
    "contains ':'",
  );
});

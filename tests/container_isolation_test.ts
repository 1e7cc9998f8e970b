/**
 * Isolation, proven from inside a payload, for each runtime that runs
 * here (bwrap on the host rootfs and in the image, podman, docker and
 * singularity in the image):
 * the payload probes and writes one PASS/FAIL line per property, and
 * exits non-zero on any violation; the test fails on any FAIL line and on
 * any missing PASS line.
 *
 * Network none is checked by launching through the driver directly (the
 * wrapper itself needs the broker): no interface but `lo`, and the host's
 * loopback is unreachable, with network host as the control.
 */
import { assertEquals, assertGreater } from "@std/assert";
import {
  type ContainerDriver,
  PROGRAM_PATH,
  type RuntimeName,
} from "../src/container/driver.ts";
import { createDriver } from "../src/container/select.ts";
import { DockerDriver } from "../src/container/docker.ts";
import { needs, startGrid } from "./_grid.ts";
import { needsDocker, needsSingularity, withDocker } from "./_runtimes.ts";
import {
  cachedImage,
  makeSoftwareDir,
  needsImage,
  processTable,
} from "./_software.ts";

/**
 * The payload: `isolation.sh TOKEN_DIR OTHER_SANDBOX HOME_MARKER GRID_DIR
 * [strict SOCKET]`; `strict` adds the unprivileged-uid, no-capabilities
 * and no-daemon-socket checks (docker, singularity).
 */
const PROBE = `#!/bin/sh
out=isolation.txt; : > "$out"; bad=0
pass() { echo "PASS $1" >> "$out"; }
fail() { echo "FAIL $1: $2" >> "$out"; bad=1; }
unreadable() {
  if cat "$2" >/dev/null 2>&1; then fail "$1" "read $2"; else pass "$1"; fi
}
unreadable agent-token "$1/key.pem"
unreadable home "$3"
unreadable other-sandbox "$2/secret.txt"
if ls "$4/work" >/dev/null 2>&1; then fail work-root "listed $4/work"
else pass work-root; fi
for d in / /etc /usr /var /home /opt/splitpilot "$SPLITPILOT_SOFTWARE" "$4" "$2"; do
  [ -n "$d" ] || continue
  if (echo x > "$d/.isolation-$$") 2>/dev/null; then
    fail "no-write $d" "created $d/.isolation-$$"; rm -f "$d/.isolation-$$"
  else pass "no-write $d"; fi
done
for d in "$PWD" /tmp; do
  if (echo x > "$d/.isolation-ok") 2>/dev/null && rm "$d/.isolation-ok"; then
    pass "write $d"
  else fail "write $d" "cannot write"; fi
done
n=$(ls /proc | grep -c '^[0-9][0-9]*$')
if [ "$n" -le 10 ]; then pass processes; else fail processes "sees $n"; fi
if grep -l -s 'agent.ts' /proc/[0-9]*/cmdline >/dev/null; then
  fail agent-process "the agent is visible"
else pass agent-process; fi
if [ "$5" = strict ]; then
  if [ "$(id -u)" != 0 ]; then pass unprivileged; else fail unprivileged "uid 0"; fi
  eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
  bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
  if [ "$eff" = 0000000000000000 ] && [ "$bnd" = 0000000000000000 ]; then
    pass no-capabilities
  else fail no-capabilities "CapEff $eff CapBnd $bnd"; fi
  s=$(find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type s -print 2>/dev/null | head -3)
  if [ -z "$s" ] && [ ! -e "$6" ]; then pass no-daemon-socket
  else fail no-daemon-socket "sees $s $6"; fi
fi
cat "$out"
exit $bad
`;

const EXPECTED = [
  "agent-token",
  "home",
  "other-sandbox",
  "work-root",
  "no-write /",
  "no-write /etc",
  "no-write /usr",
  "no-write /var",
  "no-write /home",
  "no-write /opt/splitpilot",
  "write /workdir",
  "write /tmp",
  "processes",
  "agent-process",
];

const STRICT = ["unprivileged", "no-capabilities", "no-daemon-socket"];

async function isolation(
  containers: RuntimeName,
  image: boolean,
  opts: { strict?: boolean; env?: Record<string, string> } = {},
) {
  const grid = await startGrid();
  const home = Deno.env.get("HOME") ?? "/root";
  const marker = `${home}/.splitpilot-isolation-${crypto.randomUUID()}`;
  try {
    const work = `${grid.dir}/work`;
    await Deno.mkdir(`${work}/job-other`, { recursive: true });
    await Deno.writeTextFile(`${work}/job-other/secret.txt`, "secret");
    await Deno.writeTextFile(marker, "secret");
    if (image) await makeSoftwareDir(work);
    // The properties mean something only if the host has these.
    await Deno.stat(`${grid.agentTokenDir}/key.pem`);
    assertGreater((await processTable()).size, 20);
    await grid.user.upload(
      "/jdoe/iso/isolation.sh",
      new TextEncoder().encode(PROBE),
    );
    const id = await grid.submit(`Executable = "isolation.sh";
Arguments = "${grid.agentTokenDir} ${work}/job-other ${marker} ${grid.dir}${
      opts.strict
        ? ` strict ${opts.env?.DOCKER_HOST?.replace("unix://", "") ?? "-"}`
        : ""
    }";
InputFile = {"LF:/jdoe/iso/isolation.sh"};
OutputFile = {"isolation.txt"};
TTL = 300;`);
    const agent = await grid.runAgent({ containers, env: opts.env });
    assertEquals(agent.code, 0, agent.log);
    // stdout is uploaded whatever the exit code (isolation.txt only on success).
    const report = await (await grid.user.download(
      `/jdoe/jobs/${id}/stdout`,
    )).text();
    const lines = report.trim().split("\n");
    assertEquals(lines.filter((l) => l.startsWith("FAIL")), [], report);
    for (const name of [...EXPECTED, ...(opts.strict ? STRICT : [])]) {
      assertEquals(
        lines.some((l) => l === `PASS ${name}`),
        true,
        `missing PASS ${name} in:\n${report}`,
      );
    }
    const job = await grid.user.json<{ state: string }>(
      "GET",
      `/api/v1/jobs/${id}`,
    );
    assertEquals(job!.state, "DONE", agent.log);
  } finally {
    await Deno.remove(marker).catch(() => {});
    await grid.close();
  }
}

Deno.test({
  name: "isolation from inside a payload: bwrap, host rootfs",
  ignore: needs("bwrap"),
  fn: () => isolation("bwrap", false),
});

Deno.test({
  name: "isolation from inside a payload: bwrap, debootstrap image",
  ignore: needs("bwrap") || needsImage(),
  fn: () => isolation("bwrap", true),
});

Deno.test({
  name: "isolation from inside a payload: podman, debootstrap image",
  ignore: needs("podman") || needsImage(),
  fn: () => isolation("podman", true),
});

Deno.test({
  name:
    "isolation from inside a payload: docker (private dockerd), unprivileged, no capabilities, no daemon socket",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker((d) =>
      isolation("docker", false, {
        strict: true,
        env: { DOCKER_HOST: d.host },
      })
    ),
});

Deno.test({
  name:
    "isolation from inside a payload: singularity 2.6.1 as root, payload unprivileged without capabilities",
  ignore: needsSingularity() || needsImage(),
  fn: () => isolation("singularity", true, { strict: true }),
});

/** Runs a connect probe in `driver` with `network`; returns its stdout. */
async function netProbe(
  driver: ContainerDriver,
  network: "host" | "none",
  port: number,
  image?: string,
  imageRef?: string,
): Promise<string> {
  const sandbox = await Deno.makeTempDir({ prefix: "splitpilot-net-" });
  try {
    const spec = {
      argv: [
        `${PROGRAM_PATH}/deno`,
        "eval",
        "--quiet",
        `const ifs = (await Deno.readTextFile("/proc/net/dev")).split("\\n")
  .slice(2).map((l) => l.split(":")[0].trim()).filter((n) => n);
let conn = "refused";
try {
  (await Deno.connect({ hostname: "127.0.0.1", port: ${port} })).close();
  conn = "connected";
} catch { /* expected with network none */ }
console.log(ifs.join(",") + " " + conn);`,
      ],
      sandbox,
      image,
      imageRef,
      binds: [{ source: Deno.execPath(), target: `${PROGRAM_PATH}/deno` }],
      env: { HOME: "/workdir", DENO_DIR: "/tmp/.deno", NO_COLOR: "1" },
      network,
      scratch: [PROGRAM_PATH],
    };
    await driver.prepare?.(spec);
    const [cmd, ...args] = driver.command(spec);
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assertEquals(out.success, true, new TextDecoder().decode(out.stderr));
    return text;
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
}

async function networkNone(
  name: RuntimeName,
  image: boolean,
  driver: ContainerDriver = createDriver(name),
  imageRef?: string,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const c of listener) c.close();
  })();
  try {
    const dir = image ? (await cachedImage()).dir : undefined;
    const port = (listener.addr as Deno.NetAddr).port;
    assertEquals(
      await netProbe(driver, "none", port, dir, imageRef),
      "lo refused",
    );
    const host = await netProbe(driver, "host", port, dir, imageRef);
    assertEquals(host.endsWith(" connected"), true, host);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
}

Deno.test({
  name: "isolation: network none has only lo and cannot reach the host (bwrap)",
  ignore: needs("bwrap"),
  fn: () => networkNone("bwrap", false),
});

Deno.test({
  name:
    "isolation: network none has only lo and cannot reach the host (podman)",
  ignore: needs("podman") || needsImage(),
  fn: () => networkNone("podman", true),
});

Deno.test({
  name:
    "isolation: network none has only lo and cannot reach the host (docker)",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker((d) =>
      networkNone(
        "docker",
        false,
        new DockerDriver({ host: d.host }),
        "default",
      )
    ),
});

Deno.test({
  name:
    "isolation: network none has only lo and cannot reach the host (singularity)",
  ignore: needsSingularity() || needsImage(),
  fn: () => networkNone("singularity", true),
});

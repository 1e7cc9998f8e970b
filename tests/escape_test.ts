/**
 * The escape suite: hostile payloads (`tests/fixtures/escape/*.sh`) run as
 * real jobs through a real grid (mutual-TLS broker, agent process with the
 * table's permissions, the real runtime), one agent run per runtime, as
 * the user the tests run as (root in CI). Each attack's assertion names
 * the finding of issue 12 it pins (README "Threat model").
 *
 * To add a runtime, add one entry to {@link RUNTIMES}.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import type { RuntimeName } from "../src/container/driver.ts";
import { type Grid, needs, startGrid } from "./_grid.ts";
import {
  job,
  killMarked,
  marker,
  pgrep,
  trace,
  waitFor,
} from "./_agent_helpers.ts";
import { makeSoftwareDir, needsImage } from "./_software.ts";
import { dockerWithImage, needsDocker, needsSingularity } from "./_runtimes.ts";
import type { PrivateDockerd } from "../scripts/private_dockerd.ts";
import { agentCommand } from "../src/launch/role_process.ts";

/** One runtime of the matrix. */
interface EscapeRuntime {
  /** `--containers` value. */
  name: RuntimeName;
  /** `ignore` of its test (see `needs`). */
  ignore: boolean;
  /** Runs in the debootstrap image (software dir in the work root). */
  image: boolean;
  /** Whether the container's /tmp is its own (the /tmp-on-disk attack). */
  ownTmp: boolean;
  /** Extra agent flags. */
  extraArgs?: string[];
  /** Runs against a private dockerd with the image imported (docker). */
  dockerd?: boolean;
  /**
   * Run the agent as this unprivileged uid (from a root test run), the
   * way a site without root runs it. @default the test's own user
   */
  user?: number;
}

/** Whether the tests run as root (found without `--allow-sys`). */
function testsRunAsRoot(): boolean {
  const f = Deno.makeTempFileSync({ prefix: "splitpilot-uid-" });
  try {
    return Deno.statSync(f).uid === 0;
  } finally {
    Deno.removeSync(f);
  }
}

/** The runtime matrix: one entry per runtime. */
const RUNTIMES: EscapeRuntime[] = [
  // The agent as a normal user: bwrap's unprivileged user namespace, the
  // payload jailed in namespaces of its own (no second uid to switch to).
  {
    name: "bwrap",
    ignore: needs("bwrap") || needs("setpriv") || !testsRunAsRoot(),
    image: false,
    ownTmp: true,
    user: 65534,
  },
  { name: "bwrap", ignore: needs("bwrap"), image: false, ownTmp: true },
  { name: "none", ignore: needs("setpriv"), image: false, ownTmp: false },
  // none as a normal user: the payload shares the agent's uid, so it can
  // read that agent's own token (README "Threat model"); the key checked
  // here is another user's (the grid's, root's), and the jail still hides
  // the wrapper.
  {
    name: "none",
    ignore: needs("setpriv") || !testsRunAsRoot(),
    image: false,
    ownTmp: false,
    user: 65534,
  },
  {
    name: "podman",
    ignore: needs("podman") || needsImage(),
    image: true,
    ownTmp: true,
  },
  // docker against a private dockerd (as root in CI): the wrapper is uid 0
  // with three capabilities, the payload the payload user, /tmp is
  // <sandbox>/.tmp.
  {
    name: "docker",
    ignore: needsDocker() || needsImage(),
    image: false,
    ownTmp: true,
    dockerd: true,
  },
  // singularity as root (2.6.1 built from the shared source in CI): the
  // wrapper keeps uid 0 with SETUID/SETGID/KILL, the payload runs as the
  // payload user, /tmp is <sandbox>/.tmp.
  {
    name: "singularity",
    ignore: needsSingularity() || needsImage(),
    image: true,
    ownTmp: true,
  },
];

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${REPO}/tests/fixtures/escape`;
const DENO_DIR = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));

/** Uploads fixture `name` and submits `sh name args` with `extra` lines. */
async function attack(
  grid: Grid,
  name: string,
  args: string[],
  extra = "",
): Promise<string> {
  await grid.user.upload(
    `/jdoe/escape/${name}`,
    await Deno.readFile(`${FIXTURES}/${name}`),
  );
  return await grid.submit(`Executable = "/bin/sh";
Arguments = "${[name, ...args].join(" ")}";
InputFile = {"LF:/jdoe/escape/${name}"};
TTL = 120;
${extra}`);
}

async function stdoutOf(grid: Grid, id: string): Promise<string> {
  try {
    return await (await grid.user.download(`/jdoe/jobs/${id}/stdout`)).text();
  } catch {
    return "";
  }
}

async function downloadable(grid: Grid, lfn: string): Promise<boolean> {
  try {
    await (await grid.user.download(lfn)).arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * Runs an agent as `uid` to completion: its own copy of deno (the one the
 * tests run may sit below a 0700 home), token, work root and Deno cache,
 * owned by `uid`, and the table's flags rewritten to that deno.
 */
async function runAgentAs(
  grid: Grid,
  uid: number,
  containers: RuntimeName,
  extraArgs: string[],
): Promise<{ code: number; log: string }> {
  const root = `${grid.dir}/as-${uid}`;
  await Deno.mkdir(`${root}/token`, { recursive: true });
  await Deno.mkdir(`${root}/work`);
  await Deno.mkdir(`${root}/deno-dir`);
  const deno = `${root}/deno`;
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  for (const f of ["cert.pem", "key.pem", "ca.pem"]) {
    await Deno.copyFile(`${grid.agentTokenDir}/${f}`, `${root}/token/${f}`);
  }
  for (const p of [root, `${root}/token`, `${root}/work`, `${root}/deno-dir`]) {
    await Deno.chown(p, uid, uid);
  }
  for (const f of ["cert.pem", "key.pem", "ca.pem"]) {
    await Deno.chown(`${root}/token/${f}`, uid, uid);
  }
  await Deno.chmod(`${root}/token`, 0o700);
  const { args } = agentCommand({
    broker: grid.url,
    tokenDir: `${root}/token`,
    workRoot: `${root}/work`,
    containers,
    extraArgs,
  });
  const child = new Deno.Command("/usr/bin/setpriv", {
    args: [
      "--reuid",
      String(uid),
      "--regid",
      String(uid),
      "--clear-groups",
      "--",
      deno,
      ...args.map((a) => a.replaceAll(Deno.execPath(), deno)),
    ],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", HOME: root, DENO_DIR: `${root}/deno-dir` },
    clearEnv: true,
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const log = await new Response(child.stderr).text();
  const status = await child.status;
  clearTimeout(timer);
  return { code: status.code, log };
}

async function escapeSuite(t: Deno.TestContext, rt: EscapeRuntime) {
  const dockerd: PrivateDockerd | undefined = rt.dockerd
    ? await dockerWithImage()
    : undefined;
  try {
    await escapeGrid(t, rt, dockerd);
  } finally {
    await dockerd?.stop();
  }
}

async function escapeGrid(
  t: Deno.TestContext,
  rt: EscapeRuntime,
  dockerd: PrivateDockerd | undefined,
) {
  const grid = await startGrid();
  const m = marker();
  const work = `${grid.dir}/work`;
  const hostMarkers = [
    "/etc",
    "/usr",
    "/root",
    REPO,
    `${REPO}/src`,
    grid.dir,
    DENO_DIR,
  ].map((d) => `${d}/.escape-${m}`);
  try {
    if (rt.image) await makeSoftwareDir(work);
    const ids = {
      host: await attack(grid, "host.sh", [
        m,
        grid.agentTokenDir,
        grid.stateDir,
        REPO,
        grid.dir,
        DENO_DIR,
      ]),
      forge: await attack(grid, "forge.sh", []),
      outputs: await attack(
        grid,
        "outputs.sh",
        [grid.agentTokenDir],
        `OutputFile = {"d/passwd", "t/key.pem", "deep/er/link/passwd", "hl"};`,
      ),
      held: await attack(grid, "held.sh", [m]),
      logs: await attack(grid, "logs.sh", []),
      memory: await attack(grid, "memory.sh", [], `MemorySize = "50MB";`),
      kill9: await attack(grid, "kill9.sh", [], `MemorySize = "50MB";`),
      tmpdisk: rt.ownTmp
        ? await attack(grid, "tmpdisk.sh", [m], `WorkDirectorySize = "20MB";`)
        : undefined,
    };
    const run = rt.user === undefined
      ? (o: { containers: RuntimeName; extraArgs: string[] }) =>
        grid.runAgent({
          ...o,
          timeoutMs: 240_000,
          ...(dockerd ? { env: { DOCKER_HOST: dockerd.host } } : {}),
        })
      : (o: { containers: RuntimeName; extraArgs: string[] }) =>
        runAgentAs(grid, rt.user!, o.containers, o.extraArgs);
    const agent = await run({
      containers: rt.name,
      extraArgs: [
        "--cores",
        "4",
        "--max-empty",
        "1",
        "--heartbeat",
        "1",
        "--sample",
        "1",
        "--kill-grace",
        "2",
        "--ttl-grace",
        "5",
        ...(rt.extraArgs ?? []),
      ],
    });
    assertEquals(agent.code, 0, agent.log);
    const log = agent.log;
    const step = (name: string, fn: () => Promise<void>) =>
      t.step(
        `${rt.name}${rt.user === undefined ? "" : " unprivileged"}: ${name}`,
        fn,
      );

    await step(
      "finding 1/4: no capability, no remount, nothing written on the host, no agent key, no broker state",
      async () => {
        const host = await stdoutOf(grid, ids.host);
        assertStringIncludes(host, "CapEff:\t0000000000000000", log);
        for (const bad of ["REMOUNTED", "WROTE", "READ A KEY", "READ BROKER"]) {
          assertEquals(host.includes(bad), false, `${bad} in:\n${host}`);
        }
        for (const f of hostMarkers) {
          assertEquals(await exists(f), false, `${f} was written`);
        }
        assertEquals((await job(grid, ids.host)).state, "DONE", log);
      },
    );

    await step(
      "finding 5/7a: no access to the wrapper's fds or memory; a forged end frame changes nothing",
      async () => {
        const forge = await stdoutOf(grid, ids.forge);
        for (const bad of ["FORGED", "READ ENVIRON", "LISTED FDS"]) {
          assertEquals(forge.includes(bad), false, `${bad} in:\n${forge}`);
        }
        const f = await job(grid, ids.forge);
        assertEquals([f.state, f.exitCode], ["ERROR_E", 3], log);
      },
    );

    await step(
      "finding 6: outputs leading out of the sandbox are refused, with the reason in the trace",
      async () => {
        const o = await job(grid, ids.outputs);
        assertEquals(o.state, "ERROR_S", log);
        const why = (await trace(grid, ids.outputs)).at(-1)!.reason;
        for (
          const name of ["d/passwd", "t/key.pem", "deep/er/link/passwd", "hl"]
        ) {
          assertStringIncludes(why, `output ${name} refused`);
          assertEquals(
            await downloadable(grid, `/jdoe/jobs/${ids.outputs}/${name}`),
            false,
            `${name} was uploaded`,
          );
        }
        assertStringIncludes(why, "symbolic link");
        assertStringIncludes(why, "hard links");
      },
    );

    await step(
      "finding 7c: held stdout: the job ends by the exit code, leftovers die",
      async () => {
        const h = await job(grid, ids.held);
        assertEquals(
          [h.state, h.exitCode, h.killReason],
          ["DONE", 0, null],
          log,
        );
        // (killed processes may take a moment to be reaped on a busy host)
        await waitFor(
          "the held job's leftovers to die",
          async () => (await pgrep(`sleep 9${m}`)).length === 0,
          30_000,
        );
      },
    );

    await step(
      "finding 7b: control bytes reach the agent's log escaped",
      async () => {
        assertStringIncludes(log, "esc-A\\x1b[2Jesc-B\\x0dFAKE agent line");
        assertEquals(log.includes("\x1b"), false, "raw ESC in the agent log");
        assertEquals((await job(grid, ids.logs)).state, "DONE", log);
      },
    );

    // Runtimes whose container has a memory cgroup of its own (oom_check.ts).
    const cgroupOom = rt.name === "podman" || rt.name === "docker";
    await step(
      cgroupOom
        ? "finding 3b: memory is enforced by the container's cgroup, reported as kill 80"
        : "finding 3b: memory is enforced (watchdog kill 80)",
      async () => {
        const mem = await job(grid, ids.memory);
        // Not the TTL (reason 20), and never a bare exit 137: a cgroup OOM
        // kill is reported as the memory kill the watchdog would make.
        assertEquals(
          [mem.state, mem.killReason],
          ["ERROR_E", 80],
          `memory payload: ${JSON.stringify(mem)}\n${log}`,
        );
        if (cgroupOom) {
          const why = (await trace(grid, ids.memory)).at(-1)!.reason;
          assertStringIncludes(
            why,
            "memory limit: killed by the container's OOM killer",
          );
        }
      },
    );

    await step(
      "finding 3b: an ordinary kill -9 is not reported as a memory kill",
      async () => {
        const k = await job(grid, ids.kill9);
        assertEquals(
          [k.state, k.killReason, k.exitCode],
          ["ERROR_E", null, 137],
          `kill -9 payload: ${JSON.stringify(k)}\n${log}`,
        );
      },
    );

    if (ids.tmpdisk) {
      await step(
        "finding 3c: the container's /tmp counts against WorkDirectorySize (kill 70)",
        async () => {
          const t = await job(grid, ids.tmpdisk!);
          assertEquals([t.state, t.killReason], ["ERROR_E", 70], log);
        },
      );
    }
  } finally {
    for (const f of hostMarkers) await Deno.remove(f).catch(() => {});
    await killMarked(m);
    await grid.close();
  }
}

for (const rt of RUNTIMES) {
  Deno.test({
    name: `escape suite: hostile payloads through a real grid (${rt.name}${
      rt.user === undefined ? "" : `, agent as uid ${rt.user}`
    })`,
    ignore: rt.ignore,
    fn: (t) => escapeSuite(t, rt),
  });
}

/**
 * No orphans: SIGKILL of the wrapper, or of the agent, leaves no payload
 * process alive, for bwrap (pid namespace + --die-with-parent), podman
 * docker and singularity (pid namespace + the agent lease) and none (the
 * setpriv/unshare reaper).
 * The payload is `sleep M & sleep M` with a unique M; after the kill,
 * `pgrep -f "sleep M"` must come back empty.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import type { RuntimeName } from "../src/container/driver.ts";
import { launcherPrograms } from "../src/container/select.ts";
import { agentCommand } from "../src/launch/role_process.ts";
import { needs, startGrid } from "./_grid.ts";
import { needsDocker, needsSingularity, withDocker } from "./_runtimes.ts";
import {
  ancestorMatching,
  makeSoftwareDir,
  needsImage,
  pidsMatching,
  removeContainersUnder,
  waitFor,
} from "./_software.ts";

type Victim = "wrapper" | "agent";

/**
 * The agent's command line, with `--allow-run` covering every launcher of
 * the runtime (as `launcherPrograms` lists them; for none: setpriv too).
 */
function agentArgs(
  url: string,
  tokenDir: string,
  work: string,
  rt: RuntimeName,
) {
  const { cmd, args } = agentCommand({
    broker: url,
    tokenDir,
    workRoot: work,
    containers: rt,
    extraArgs: ["--max-empty", "1", "--heartbeat", "2"],
  });
  const extra = launcherPrograms(rt, { deno: Deno.execPath() });
  return {
    cmd,
    args: args.map((a) =>
      a.startsWith("--allow-run=") ? `${a},${extra.join(",")}` : a
    ),
  };
}

async function noOrphans(
  rt: RuntimeName,
  image: boolean,
  victim: Victim,
  env: Record<string, string> = {},
) {
  // No resubmission: a wrapper killed before the agent saw RUNNING ends
  // ERROR_A, and a rerun of the same payload would look like an orphan.
  const grid = await startGrid({ maxResubmissions: 0 });
  const marker = `sleep ${1000 + Math.floor(Math.random() * 8000)}.${
    crypto.getRandomValues(new Uint32Array(1))[0]
  }`;
  let agent: Deno.ChildProcess | undefined;
  const log: string[] = [];
  try {
    const work = `${grid.dir}/work`;
    if (image) await makeSoftwareDir(work);
    await grid.submit(`Executable = "/bin/sh";
Arguments = "-c '${marker} & ${marker}'";
TTL = 300;`);
    const { cmd, args } = agentArgs(grid.url, grid.agentTokenDir, work, rt);
    agent = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    const logDone = (async () => {
      for await (const t of agent.stderr.pipeThrough(new TextDecoderStream())) {
        log.push(t);
      }
    })();
    const started = await waitFor(
      async () => (await pidsMatching(marker)).length >= 2,
      30_000,
    );
    assertEquals(started, true, `payload never started:\n${log.join("")}`);
    if (rt === "none") {
      assertStringIncludes(log.join(""), "container runtime: none");
      assertEquals(log.join("").includes("Requires run access"), false);
    }
    if (victim === "wrapper") {
      const [payload] = await pidsMatching(marker);
      const wrapper = await ancestorMatching(payload, /wrapper\.ts --workdir/);
      assertEquals(typeof wrapper, "number", "wrapper process not found");
      Deno.kill(wrapper!, "SIGKILL");
    } else {
      agent.kill("SIGKILL");
    }
    const gone = await waitFor(
      async () => (await pidsMatching(marker)).length === 0,
      15_000,
    );
    assertEquals(
      gone,
      true,
      `payload survived SIGKILL of the ${victim} (${rt}):\n${log.join("")}`,
    );
    if (victim === "wrapper") {
      // The agent notices, reports, and exits on its own.
      const status = await agent.status;
      assertEquals(status.code, 0, log.join(""));
    }
    await logDone;
  } finally {
    try {
      agent?.kill("SIGKILL");
    } catch { /* already gone */ }
    await agent?.status;
    // Never leave our own payload behind, even when the test failed.
    for (const pid of await pidsMatching(marker)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    // Nor podman's records of our containers (see Launch.cwd).
    if (rt === "podman") await removeContainersUnder(grid.dir);
    await grid.close();
  }
}

for (const victim of ["wrapper", "agent"] as const) {
  Deno.test({
    name: `no orphans: SIGKILL of the ${victim}, bwrap`,
    ignore: needs("bwrap"),
    fn: () => noOrphans("bwrap", false, victim),
  });
  Deno.test({
    name: `no orphans: SIGKILL of the ${victim}, podman`,
    ignore: needs("podman") || needsImage(),
    fn: () => noOrphans("podman", true, victim),
  });
  Deno.test({
    name: `no orphans: SIGKILL of the ${victim}, docker (private dockerd)`,
    ignore: needsDocker() || needsImage(),
    fn: () =>
      withDocker(async (d) => {
        await noOrphans("docker", false, victim, { DOCKER_HOST: d.host });
        // The lease ended the container and --rm removed it.
        const gone = await waitFor(
          async () => (await d.docker(["ps", "-aq"])) === "",
          30_000,
        );
        assertEquals(gone, true, "a container survived the agent");
      }),
  });
  Deno.test({
    name: `no orphans: SIGKILL of the ${victim}, singularity`,
    ignore: needsSingularity() || needsImage(),
    fn: () => noOrphans("singularity", true, victim),
  });
  Deno.test({
    name: `no orphans: SIGKILL of the ${victim}, none (pid-namespace reaper)`,
    ignore: needs("unshare") || needs("setpriv"),
    fn: () => noOrphans("none", false, victim),
  });
}

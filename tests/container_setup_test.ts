/**
 * The software dir's `etc/setup.sh` sets the payload's environment the
 * same way in every runtime; a broken one is a startup failure: the agent
 * refuses to start (its probe runs the check), and a job that meets a
 * script broken later goes to ERROR_A with the script's own error.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import type { RuntimeName } from "../src/container/driver.ts";
import { agentCommand } from "../src/launch/role_process.ts";
import { needs, startGrid } from "./_grid.ts";
import { makeSoftwareDir, needsImage, waitFor } from "./_software.ts";

const SETUP = `export SITE_MARK="set by setup.sh"
PATH="$SPLITPILOT_SOFTWARE/bin:$PATH"
if [ -e "$SPLITPILOT_SOFTWARE/etc/broken" ]; then
  echo "cvmfs repository not mounted" >&2
  return 1
fi
`;

async function softwareWithTool(work: string, image: boolean) {
  const sw = await makeSoftwareDir(work, { setup: SETUP, defaultImage: image });
  await Deno.mkdir(`${sw}/bin`);
  await Deno.writeTextFile(`${sw}/bin/sw-tool`, "#!/bin/sh\necho tool ok\n", {
    mode: 0o755,
  });
  return sw;
}

async function payloadEnv(rt: RuntimeName, image: boolean) {
  const grid = await startGrid();
  try {
    await softwareWithTool(`${grid.dir}/work`, image);
    const id = await grid.submit(`Executable = "/bin/sh";
Arguments = "-c 'echo $SITE_MARK > env.txt; sw-tool >> env.txt'";
OutputFile = {"env.txt"};
TTL = 300;`);
    const agent = await grid.runAgent({ containers: rt });
    assertEquals(agent.code, 0, agent.log);
    assertStringIncludes(agent.log, "setup script: yes");
    const env = await (await grid.user.download(`/jdoe/jobs/${id}/env.txt`))
      .text();
    assertEquals(env, "set by setup.sh\ntool ok\n");
  } finally {
    await grid.close();
  }
}

Deno.test({
  name: "setup.sh: payload env in bwrap (host rootfs)",
  ignore: needs("bwrap"),
  fn: () => payloadEnv("bwrap", false),
});
Deno.test({
  name: "setup.sh: payload env in bwrap (image)",
  ignore: needs("bwrap") || needsImage(),
  fn: () => payloadEnv("bwrap", true),
});
Deno.test({
  name: "setup.sh: payload env in podman (image)",
  ignore: needs("podman") || needsImage(),
  fn: () => payloadEnv("podman", true),
});
Deno.test({
  name: "setup.sh: payload env with none",
  fn: () => payloadEnv("none", false),
});

Deno.test({
  name:
    "setup.sh: broken at agent start, the probe fails and the agent says why",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const sw = await softwareWithTool(`${grid.dir}/work`, false);
      await Deno.writeTextFile(`${sw}/etc/broken`, "");
      const id = await grid.submit(`Executable = "/bin/true";\nTTL = 300;`);
      const agent = await grid.runAgent({ containers: "bwrap" });
      assertEquals(agent.code, 1, agent.log);
      assertMatch(
        agent.log,
        /error: no usable container runtime .*setup script \/opt\/splitpilot\/software\/etc\/setup.sh failed with exit 1: cvmfs repository not mounted/,
      );
      const job = await grid.user.json<{ state: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals(job!.state, "WAITING");
    } finally {
      await grid.close();
    }
  },
});

Deno.test({
  name:
    "setup.sh: broken after the agent started, the job goes to ERROR_A with the script's error",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    let agent: Deno.ChildProcess | undefined;
    try {
      const work = `${grid.dir}/work`;
      const sw = await softwareWithTool(work, false);
      const { cmd, args } = agentCommand({
        broker: grid.url,
        tokenDir: grid.agentTokenDir,
        workRoot: work,
        containers: "bwrap",
        extraArgs: ["--wait", "--heartbeat", "2"],
      });
      agent = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      let log = "";
      const logDone = (async () => {
        for await (
          const t of agent.stderr.pipeThrough(new TextDecoderStream())
        ) {
          log += t;
        }
      })();
      assertEquals(
        await waitFor(
          () => Promise.resolve(log.includes("container runtime: bwrap")),
          30_000,
        ),
        true,
        log,
      );
      await Deno.writeTextFile(`${sw}/etc/broken`, "");
      const id = await grid.submit(`Executable = "/bin/true";\nTTL = 300;`);
      const trace = async () =>
        (await grid.user.json<{ trace: { state: string; reason: string }[] }>(
          "GET",
          `/api/v1/jobs/${id}/trace`,
        ))!.trace;
      assertEquals(
        await waitFor(
          async () => (await trace()).some((t) => t.state === "ERROR_A"),
          30_000,
        ),
        true,
        log,
      );
      const a = (await trace()).find((t) => t.state === "ERROR_A")!;
      assertEquals(
        a.reason,
        "setup script /opt/splitpilot/software/etc/setup.sh failed with exit 1: cvmfs repository not mounted",
      );
      agent.kill("SIGTERM");
      await agent.status;
      await logDone;
    } finally {
      try {
        agent?.kill("SIGKILL");
      } catch { /* gone */ }
      await agent?.status;
      await grid.close();
    }
  },
});

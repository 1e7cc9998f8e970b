/**
 * The sample job suite through every container runtime, for real: a real
 * broker, a real agent process, the wrapper inside the runtime (host
 * rootfs for bwrap, the debootstrap image for bwrap and podman), real
 * payloads. docker (a private dockerd) and singularity (2.6.1 built from
 * the shared source) run in CI; apptainer only where it is installed.
 */
import {
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import { switchLatest } from "../scripts/build_image.ts";
import type { RuntimeName } from "../src/container/driver.ts";
import { findOnPath } from "../src/container/find_program.ts";
import { type Grid, needs, startGrid } from "./_grid.ts";
import { needsDocker, needsSingularity, withDocker } from "./_runtimes.ts";
import {
  cachedImage,
  makeSoftwareDir,
  needsImage,
  waitFor,
} from "./_software.ts";
import {
  assertSamplesRan,
  jobOutput,
  sandboxesLeft,
  submitSamples,
} from "./_samples.ts";

async function jobState(grid: Grid, id: string) {
  return (await grid.user.json<{ state: string; exitCode: number }>(
    "GET",
    `/api/v1/jobs/${id}`,
  ))!;
}

/** hello, analyse (staged script + input) and fail, as in the demo. */
async function runSamples(
  containers: RuntimeName,
  opts: { image: boolean; env?: Record<string, string> },
) {
  const grid = await startGrid();
  try {
    if (opts.image) await makeSoftwareDir(`${grid.dir}/work`);
    const ids = await submitSamples(grid);
    const agent = await grid.runAgent({ containers, env: opts.env });
    assertEquals(agent.code, 0, agent.log);
    assertStringIncludes(agent.log, `container runtime: ${containers}`);
    if (opts.image) {
      assertMatch(agent.log, /self-test passed in image \/\S+\/containers\//);
    }
    await assertSamplesRan(grid, ids, agent.log);
    assertEquals(
      await sandboxesLeft(`${grid.dir}/work`),
      [],
      "the agent removes sandboxes and leases",
    );
  } finally {
    await grid.close();
  }
}

Deno.test({
  name: "container e2e: bwrap, host rootfs",
  ignore: needs("bwrap"),
  fn: () => runSamples("bwrap", { image: false }),
});

Deno.test({
  name: "container e2e: bwrap, debootstrap image",
  ignore: needs("bwrap") || needsImage(),
  fn: () => runSamples("bwrap", { image: true }),
});

Deno.test({
  name: "container e2e: podman --rootfs, debootstrap image",
  ignore: needs("podman") || needsImage(),
  fn: () => runSamples("podman", { image: true }),
});

Deno.test({
  name: "container e2e: none (no container)",
  fn: () => runSamples("none", { image: false }),
});

Deno.test({
  name:
    "container e2e: singularity (2.6.1 built from the shared source), debootstrap image",
  ignore: needsSingularity() || needsImage(),
  fn: () => runSamples("singularity", { image: true }),
});

// Not installable on our hosts: run where the binary exists, else ignored
// (its argv is golden-tested in src/container/).
Deno.test({
  name:
    "container e2e: apptainer, debootstrap image (only where apptainer is installed)",
  ignore: findOnPath("apptainer") === undefined || needsImage(),
  fn: () => runSamples("apptainer", { image: true }),
});

Deno.test({
  name:
    "container e2e: docker (private dockerd, debootstrap image imported), payload as an unprivileged uid",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker(async (d) => {
      await runSamples("docker", {
        image: false,
        env: { DOCKER_HOST: d.host },
      });
      // --rm and the agent's lease: nothing of the jobs is left.
      const gone = await waitFor(
        async () => (await d.docker(["ps", "-aq"])) === "",
        30_000,
      );
      assertEquals(gone, true, await d.docker(["ps", "-a"]));
    }),
});

Deno.test({
  name:
    "container e2e: JDL Container picks the image, a job keeps the image it started with while latest switches",
  ignore: needs("bwrap") || needsImage(),
  fn: async () => {
    const grid = await startGrid();
    try {
      // containers/site/{v1,v2}: hard-linked copies of the cached image,
      // told apart by /etc/splitpilot-image. No default image: jobs without
      // a Container tag run on the host rootfs.
      const sw = await makeSoftwareDir(`${grid.dir}/work`, {
        defaultImage: false,
      });
      const cache = await cachedImage();
      const site = `${sw}/containers/site`;
      await Deno.mkdir(site, { recursive: true });
      for (const v of ["v1", "v2"]) {
        const cp = await new Deno.Command("/bin/cp", {
          args: ["-al", cache.dir, `${site}/${v}`],
        }).output();
        assertEquals(cp.success, true, new TextDecoder().decode(cp.stderr));
        await Deno.remove(`${site}/${v}/etc/splitpilot-image`);
        await Deno.writeTextFile(`${site}/${v}/etc/splitpilot-image`, `${v}\n`);
      }
      await switchLatest(site, "v1");
      const probe = (name: string, extra: string) =>
        `Executable = "/bin/sh";
Arguments = "-c '${extra} if [ -e /etc/splitpilot-image ]; then cat /etc/splitpilot-image; else echo host; fi > ${name}'";
OutputFile = {"${name}"};
TTL = 300;`;
      const first = await grid.submit(
        `Container = "site";\n${probe("first.txt", "sleep 3;")}`,
      );
      const hostJob = await grid.submit(probe("host.txt", ""));
      const agentRun = grid.runAgent({ containers: "bwrap" });
      // Switch while the first job sleeps in v1.
      while ((await jobState(grid, first)).state !== "RUNNING") {
        await new Promise((r) => setTimeout(r, 50));
      }
      await switchLatest(site, "v2");
      const second = await grid.submit(
        `Container = "site";\n${probe("second.txt", "")}`,
      );
      const agent = await agentRun;
      assertEquals(agent.code, 0, agent.log);
      for (const id of [first, hostJob, second]) {
        assertEquals((await jobState(grid, id)).state, "DONE", agent.log);
      }
      assertEquals(await jobOutput(grid, first, "first.txt"), "v1\n");
      assertEquals(await jobOutput(grid, second, "second.txt"), "v2\n");
      assertEquals(await jobOutput(grid, hostJob, "host.txt"), "host\n");
      assertNotEquals(await Deno.readLink(`${site}/latest`), "v1");
    } finally {
      await grid.close();
    }
  },
});

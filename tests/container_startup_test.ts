/**
 * Startup failures: a runtime that fails its probe (the agent matches
 * nothing and says why), a bad or broken image (the job goes to ERROR_A
 * with the exact reason in its trace), and repeated start failures (the
 * agent marks the runtime unhealthy and stops matching).
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { type Grid, needs, startGrid, which } from "./_grid.ts";
import { makeSoftwareDir, needsImage } from "./_software.ts";
import { needsDocker, needsSingularity, withDocker } from "./_runtimes.ts";

async function job(grid: Grid, id: string) {
  return (await grid.user.json<{ state: string }>(
    "GET",
    `/api/v1/jobs/${id}`,
  ))!;
}

async function trace(grid: Grid, id: string) {
  return (await grid.user.json<{ trace: { state: string; reason: string }[] }>(
    "GET",
    `/api/v1/jobs/${id}/trace`,
  ))!.trace;
}

const HELLO = `Executable = "/bin/true";\nTTL = 300;`;

/** An image dir with the two mount points the agent checks, nothing else. */
async function hollowImage(softwareDir: string, name: string) {
  const dir = `${softwareDir}/containers/${name}`;
  for (const m of ["workdir", "opt/splitpilot"]) {
    await Deno.mkdir(`${dir}/v1/${m}`, { recursive: true });
  }
  await Deno.symlink("v1", `${dir}/latest`);
}

Deno.test({
  name:
    "startup: a runtime that fails its probe stops the agent before it matches (apptainer, missing here)",
  ignore: which("apptainer") !== undefined,
  fn: async () => {
    const grid = await startGrid();
    try {
      const id = await grid.submit(HELLO);
      const agent = await grid.runAgent({ containers: "apptainer" });
      assertEquals(agent.code, 1, agent.log);
      assertMatch(
        agent.log,
        /error: no usable container runtime for USE_CONTAINERS=apptainer \(apptainer: apptainer: .*apptainer/,
      );
      assertEquals((await job(grid, id)).state, "WAITING");
    } finally {
      await grid.close();
    }
  },
});

Deno.test({
  name: "startup: an explicitly chosen image that is broken stops the agent",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const sw = `${grid.dir}/work/software`;
      await Deno.mkdir(`${sw}/containers/broken/v1`, { recursive: true });
      await Deno.symlink("v1", `${sw}/containers/broken/latest`);
      const id = await grid.submit(HELLO);
      const agent = await grid.runAgent({
        containers: "bwrap",
        extraArgs: ["--max-empty", "1", "--image", "broken"],
      });
      assertEquals(agent.code, 1, agent.log);
      assertStringIncludes(
        agent.log,
        `error: image broken is not usable: it has no /workdir (${sw}/containers/broken/latest)`,
      );
      assertEquals((await job(grid, id)).state, "WAITING");
    } finally {
      await grid.close();
    }
  },
});

Deno.test({
  name:
    "startup: a job whose image is missing or broken goes to ERROR_A with the reason in its trace",
  ignore: needs("bwrap") || needsImage(),
  fn: async () => {
    // No automatic resubmission: this one agent would only get the same
    // unrunnable jobs back (the site map does not list images yet).
    const grid = await startGrid({ maxResubmissions: 0 });
    try {
      const sw = await makeSoftwareDir(`${grid.dir}/work`);
      await Deno.mkdir(`${sw}/containers/broken/v1`, { recursive: true });
      await Deno.symlink("v1", `${sw}/containers/broken/latest`);
      const missing = await grid.submit(`Container = "nosuch";\n${HELLO}`);
      const broken = await grid.submit(`Container = "broken";\n${HELLO}`);
      const fine = await grid.submit(`Container = "default";\n${HELLO}`);
      const agent = await grid.runAgent({ containers: "bwrap" });
      assertEquals(agent.code, 0, agent.log);
      const reasons = {
        [missing]:
          `wrapper not started: image nosuch not found: ${sw}/containers/nosuch/latest does not exist`,
        [broken]:
          `wrapper not started: image broken is not usable: it has no /workdir (${sw}/containers/broken/latest); expected an image made by scripts/build_image.ts`,
      };
      for (const [id, reason] of Object.entries(reasons)) {
        const t = await trace(grid, id);
        const a = t.find((e) => e.state === "ERROR_A");
        assertEquals(a?.reason, reason, JSON.stringify(t));
        // Final, or resubmitted (back to WAITING) if the broker retries ERROR_A.
        assertMatch((await job(grid, id)).state, /^(ERROR_A|WAITING)$/);
      }
      assertEquals((await job(grid, fine)).state, "DONE", agent.log);
    } finally {
      await grid.close();
    }
  },
});

Deno.test({
  name:
    "startup: repeated wrapper start failures mark the runtime unhealthy; the agent stops matching and says why",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const sw = `${grid.dir}/work/software`;
      // Passes the agent's mount point check, but bwrap cannot make /proc
      // in it: every wrapper start fails inside the runtime.
      await hollowImage(sw, "hollow");
      for (let i = 0; i < 3; i++) {
        await grid.submit(`Container = "hollow";\n${HELLO}`);
      }
      const agent = await grid.runAgent({
        containers: "bwrap",
        extraArgs: ["--max-empty", "1", "--max-start-failures", "2"],
      });
      assertEquals(agent.code, 1, agent.log);
      assertEquals(
        agent.log.match(/starting wrapper in bwrap/g)?.length,
        2,
        agent.log,
      );
      assertStringIncludes(
        agent.log,
        "runtime bwrap is unhealthy, not matching",
      );
      assertMatch(
        agent.log,
        /error: container runtime bwrap marked unhealthy: 2 wrapper start\(s\) failed in a row; last: /,
      );
    } finally {
      await grid.close();
    }
  },
});

Deno.test("startup: a bad --runtime-binary is refused before anything runs", async () => {
  const grid = await startGrid();
  try {
    const agent = await grid.runAgent({
      containers: "auto",
      extraArgs: ["--runtime-binary", "relative/podman"],
    });
    assertEquals(agent.code, 2, agent.log);
    assertStringIncludes(
      agent.log,
      "error: --runtime-binary relative/podman: expected NAME=/ABSOLUTE/PATH",
    );
  } finally {
    await grid.close();
  }
});

/** The ERROR_A entry of a job's trace (final, or resubmitted). */
async function errorA(grid: Grid, id: string) {
  const t = await trace(grid, id);
  const a = t.find((e) => e.state === "ERROR_A");
  assertEquals(typeof a?.reason, "string", JSON.stringify(t));
  assertMatch((await job(grid, id)).state, /^(ERROR_A|WAITING)$/);
  return a!.reason;
}

Deno.test({
  name:
    "startup: docker, a job whose image is missing or broken goes to ERROR_A with docker's message in its trace",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker(async (d) => {
      const grid = await startGrid({ maxResubmissions: 0 });
      try {
        // An image without /bin/sh: docker starts it and fails.
        const empty = await Deno.makeTempDir({ prefix: "splitpilot-empty-" });
        try {
          await d.importImage(empty, "broken");
        } finally {
          await Deno.remove(empty, { recursive: true });
        }
        const missing = await grid.submit(`Container = "nosuch";\n${HELLO}`);
        const broken = await grid.submit(`Container = "broken";\n${HELLO}`);
        const fine = await grid.submit(`Container = "default";\n${HELLO}`);
        const agent = await grid.runAgent({
          containers: "docker",
          env: { DOCKER_HOST: d.host },
        });
        assertEquals(agent.code, 0, agent.log);
        assertMatch(
          await errorA(grid, missing),
          /^wrapper died in stage ASSIGNED without a final report \(exit 125\): .*No such image: splitpilot\/nosuch:latest/,
        );
        assertMatch(
          await errorA(grid, broken),
          /^wrapper died in stage ASSIGNED without a final report \(exit 12[67]\): .*\/bin\/sh.*(no such file|not found)/i,
        );
        assertEquals((await job(grid, fine)).state, "DONE", agent.log);
      } finally {
        await grid.close();
      }
    }),
});

Deno.test({
  name:
    "startup: singularity, a job whose image is missing or broken goes to ERROR_A with singularity's message in its trace",
  ignore: needsSingularity() || needsImage(),
  fn: async () => {
    const grid = await startGrid({ maxResubmissions: 0 });
    try {
      const sw = await makeSoftwareDir(`${grid.dir}/work`);
      // Passes the agent's mount point check; singularity cannot run it.
      await hollowImage(sw, "hollow");
      const missing = await grid.submit(`Container = "nosuch";\n${HELLO}`);
      const hollow = await grid.submit(`Container = "hollow";\n${HELLO}`);
      const fine = await grid.submit(`Container = "default";\n${HELLO}`);
      const agent = await grid.runAgent({ containers: "singularity" });
      assertEquals(agent.code, 0, agent.log);
      assertEquals(
        await errorA(grid, missing),
        `wrapper not started: image nosuch not found: ${sw}/containers/nosuch/latest does not exist`,
      );
      const reason = await errorA(grid, hollow);
      assertMatch(
        reason,
        /^wrapper died in stage ASSIGNED without a final report \(exit \d+\): .*(ERROR|ABORT)/,
      );
      // singularity colours its messages: the trace keeps the words only.
      assertEquals(reason.includes("\x1b"), false, reason);
      assertEquals((await job(grid, fine)).state, "DONE", agent.log);
    } finally {
      await grid.close();
    }
  },
});

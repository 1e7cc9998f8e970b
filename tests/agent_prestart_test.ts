/**
 * Pre-started wrappers (src/agent/warm_pool.ts) with real agents, real
 * wrappers and real containers: a job of the last job's shape gets the
 * idle wrapper, a job of another shape a cold start; every job still has
 * its whole trace; an idle wrapper holds no secret and is gone when the
 * agent exits, is preempted, or is killed.
 */
import { assert, assertEquals } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import {
  job,
  marker,
  pgrep,
  sandboxesLeft,
  shellJdl,
  spawnAgent,
  trace,
  waitFor,
} from "./_agent_helpers.ts";

/** How the agent started job `id`: "pre-started" or "starting". */
function startOf(log: string, id: string): string | undefined {
  return new RegExp(
    `job ${id}: matched .*, (pre-started|starting) wrapper`,
  )
    .exec(log)?.[1];
}

for (const containers of ["bwrap", "none"] as const) {
  Deno.test({
    name:
      `prestart (${containers}): same shape warm, other shape cold, full traces, nothing left`,
    ignore: containers === "bwrap" && needs("bwrap"),
    fn: async () => {
      const grid = await startGrid();
      const m = marker();
      const workRoot = `${grid.dir}/work`;
      try {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          ids.push(await grid.submit(shellJdl("true", `${m}${i}`)));
        }
        // Another program: another --allow-run, so another shape.
        ids.push(await grid.submit(`Executable = "/bin/echo";\nTTL = 300;\n`));
        ids.push(await grid.submit(shellJdl("true", `${m}9`)));
        const agent = await grid.runAgent({
          containers,
          workRoot,
          extraArgs: [
            "--cores",
            "1",
            "--max-empty",
            "1",
            ...(containers === "none" ? ["--allow-no-container"] : []),
          ],
        });
        assertEquals(agent.code, 0, agent.log);
        assertEquals(
          ids.map((id) => startOf(agent.log, id)),
          ["starting", "pre-started", "pre-started", "starting", "starting"],
          agent.log,
        );
        assert(
          /pre-started wrappers: 2 used, 3 cold starts/.test(agent.log),
          agent.log,
        );
        for (const id of ids) {
          assertEquals((await job(grid, id)).state, "DONE", agent.log);
          assertEquals(
            (await trace(grid, id)).map((e) => e.state),
            ["WAITING", "ASSIGNED", "STARTED", "RUNNING", "SAVING", "DONE"],
          );
        }
        assertEquals(await sandboxesLeft(workRoot), []);
        assertEquals(await pgrep(`${workRoot}/job-`), []);
      } finally {
        await grid.close();
      }
    },
  });
}

Deno.test({
  name:
    "prestart (bwrap): an idle wrapper holds no secret; it goes with a preempted agent and with a killed one",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    const workRoot = `${grid.dir}/work`;
    const agentKey = await Deno.readTextFile(`${grid.agentTokenDir}/key.pem`);
    try {
      for (const stop of ["SIGTERM", "SIGKILL"] as const) {
        const id = await grid.submit(shellJdl("true", marker()));
        const agent = spawnAgent(grid, {
          containers: "bwrap",
          workRoot,
          extraArgs: ["--cores", "1", "--wait", "--heartbeat", "2"],
        });
        try {
          await waitFor(
            `job ${id} DONE`,
            async () => (await job(grid, id)).state === "DONE",
          );
          // The next job's wrapper, idle: started, waiting for `start`.
          await waitFor(
            "an idle pre-started wrapper",
            async () => (await pgrep(`${workRoot}/job-warm`)).length > 0,
          );
          const idle = await pgrep(`${workRoot}/job-warm`);
          for (const pid of idle) {
            for (const f of ["environ", "cmdline"]) {
              const text = await Deno.readTextFile(`/proc/${pid}/${f}`)
                .catch(() => "");
              assert(!text.includes("PRIVATE KEY"), `${pid} ${f}`);
              assert(!text.includes(agentKey.slice(40, 80)), `${pid} ${f}`);
            }
          }
          for (const dir of await sandboxesLeft(workRoot)) {
            for await (const e of Deno.readDir(`${workRoot}/${dir}`)) {
              if (!e.isFile) continue;
              const text = await Deno.readTextFile(
                `${workRoot}/${dir}/${e.name}`,
              )
                .catch(() => "");
              assert(!text.includes("PRIVATE KEY"), `${dir}/${e.name}`);
            }
          }
          agent.child.kill(stop);
          const r = await agent.done();
          if (stop === "SIGTERM") {
            assert(
              /pre-started wrappers: \d+ used, \d+ cold starts/.test(r.log),
              r.log,
            );
            // Closed by the agent: process and sandbox gone.
            assertEquals(await pgrep(`${workRoot}/job-warm`), [], r.log);
            assertEquals(
              (await sandboxesLeft(workRoot)).filter((d) =>
                d.startsWith("job-warm")
              ),
              [],
            );
          } else {
            // The kernel closed its stdin: it exits on its own.
            await waitFor(
              "the idle wrapper of a killed agent to exit",
              async () => (await pgrep(`${workRoot}/job-warm`)).length === 0,
            );
          }
        } finally {
          await agent.kill();
        }
      }
    } finally {
      for (const pid of await pgrep(`${workRoot}/job-`)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await grid.close();
    }
  },
});

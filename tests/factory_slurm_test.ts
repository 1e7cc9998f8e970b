/**
 * The pilot factory on a real one-node Slurm cluster (tests/_slurm.ts),
 * against a real mutual-TLS broker serving the built agent and wrapper:
 *
 * 1. 20 jobs are submitted;
 * 2. the factory, a process with the table's factory permissions, submits
 *    startup scripts with sbatch;
 * 3. every job ends DONE;
 * 4. once the queue is empty no pilot is left queued or running;
 * 5. `scancel` of a running pilot puts its job back in the queue (the
 *    agent preempts on Slurm's SIGTERM), and the job then ends DONE on a
 *    new pilot.
 *
 * Also: `site status` shows the site's pilots and agents.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { main as siteMain } from "../src/cli/site_cmd.ts";
import { factoryCommand } from "../src/launch/factory_process.ts";
import { buildFor } from "./_build.ts";
import { publishArtefacts } from "../src/site/artefact_store.ts";
import { type Grid, needs, startGrid } from "./_grid.ts";
import { needsSlurm, type SlurmCluster, startSlurm } from "./_slurm.ts";

const SITE = "slurm-site";

async function until(
  what: string,
  ok: () => Promise<boolean>,
  ms: number,
  log: () => string = () => "",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface JobState {
  state: string;
  resubmissions: number;
}

async function jobState(grid: Grid, id: string): Promise<JobState> {
  return (await grid.user.json<JobState>("GET", `/api/v1/jobs/${id}`))!;
}

async function pilots(slurm: SlurmCluster, states: string): Promise<string[]> {
  const out = await slurm.run(
    "squeue",
    "-h",
    "-n",
    `splitpilot-${SITE}`,
    "-t",
    states,
    "-o",
    "%i",
  );
  return out.split("\n").map((l) => l.trim()).filter(Boolean);
}

function capture() {
  const lines: string[] = [];
  return {
    lines,
    io: {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
    },
  };
}

Deno.test({
  name:
    "factory on a real Slurm: 20 jobs DONE, no pilot left, scancel of a running pilot resubmits its job",
  ignore: needsSlurm() || needs("curl") || needs("bwrap"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const grid = await startGrid();
    const slurm = await startSlurm(2);
    let factory: Deno.ChildProcess | undefined;
    let factoryLog = Promise.resolve("");
    try {
      // The artefacts the pilots' startup scripts fetch.
      await publishArtefacts((await buildFor(grid)).out, grid.stateDir);
      const hostToken = await grid.token("factory", {
        role: "HOST",
        subject: SITE,
        ttlSeconds: 3600,
      });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        ids.push(
          await grid.submit(
            `Executable = "/bin/sh"; Arguments = "-c 'echo job ${i} > out.txt'"; OutputFile = {"out.txt"}; TTL = 600;`,
          ),
        );
      }
      const { cmd, args } = factoryCommand({
        args: [
          "--site",
          SITE,
          "--slurm",
          "--broker",
          grid.url,
          "--token",
          hostToken,
          "--work",
          `${grid.dir}/factory`,
          "--cores",
          "1",
          "--ttl",
          "30m",
          "--max-queued",
          "2",
          "--max-running",
          "2",
          "--interval",
          "1",
          "--young",
          "1",
          "--max-backoff",
          "2",
          "--agent-arg=--containers",
          "--agent-arg=bwrap",
          "--agent-arg=--max-empty",
          "--agent-arg=2",
          "--agent-arg=--heartbeat",
          "--agent-arg=2",
          "--agent-arg=--preempt-grace",
          "--agent-arg=5",
        ],
      });
      assert(
        args.some((a) => a.startsWith("--allow-run=") && a.includes("/sbatch")),
      );
      assert(!args.includes("-A") && !args.includes("--allow-all"));
      factory = new Deno.Command(cmd, {
        args,
        env: { ...slurm.env, NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      factoryLog = new Response(factory.stderr).text();

      // 1–3: every job DONE.
      await until("20 jobs DONE", async () => {
        const states = await Promise.all(ids.map((id) => jobState(grid, id)));
        return states.every((s) => s.state === "DONE");
      }, 300_000);
      for (const [i, id] of ids.entries()) {
        const out = await (await grid.user.download(`/jdoe/jobs/${id}/out.txt`))
          .text();
        assertEquals(out.trim(), `job ${i}`);
      }
      // Each pilot's agent took its slot from Slurm: 1 core, < 30 min left.
      const logs: string[] = [];
      for await (const e of Deno.readDir(`${grid.dir}/factory/log`)) {
        if (e.name.endsWith(".err")) {
          logs.push(
            await Deno.readTextFile(`${grid.dir}/factory/log/${e.name}`),
          );
        }
      }
      assert(logs.length >= 1, "pilot logs");
      const slot = /slot from slurm: (\d+) core\(s\), (\d+) s left/.exec(
        logs.join("\n"),
      );
      assert(slot, logs.join("\n").slice(0, 3000));
      assertEquals(slot[1], "1");
      assert(Number(slot[2]) > 60 && Number(slot[2]) <= 1800, slot[0]);
      // 4: nothing waits, so no pilot stays queued or running.
      await until(
        "no pilot queued or running",
        async () => (await pilots(slurm, "PD,R,CG")).length === 0,
        120_000,
      );

      // Scripts (with their tokens) are gone once their pilots ended.
      await until("pilot scripts removed", async () => {
        for await (const _ of Deno.readDir(`${grid.dir}/factory/scripts`)) {
          return false;
        }
        return true;
      }, 30_000);

      // The site view.
      const s = capture();
      assertEquals(
        await siteMain([
          "status",
          "--broker",
          grid.url,
          "--token",
          grid.userTokenDir,
          "--json",
        ], s.io),
        0,
        s.lines.join("\n"),
      );
      const view = JSON.parse(s.lines[0]).sites.find((x: { site: string }) =>
        x.site === SITE
      );
      assertEquals(view.factory.batch, "slurm");
      assert(view.factory.pilots.finished >= 1, JSON.stringify(view));
      assert(view.agents >= 1, JSON.stringify(view));

      // 5: scancel of a running pilot: its job goes back and ends DONE.
      const long = await grid.submit(
        `Executable = "/bin/sleep"; Arguments = "20"; TTL = 600;`,
      );
      await until(
        "the long job RUNNING",
        async () => (await jobState(grid, long)).state === "RUNNING",
        120_000,
      );
      // The factory may have started a second pilot while the first had
      // not matched yet: cancel every running one (the job's among them).
      const running = await pilots(slurm, "R");
      assert(running.length >= 1, "a running pilot");
      for (const id of running) await slurm.run("scancel", id);
      await until(
        "the long job back in the queue",
        async () => (await jobState(grid, long)).resubmissions >= 1,
        60_000,
      );
      await until(
        "the long job DONE on a new pilot",
        async () => (await jobState(grid, long)).state === "DONE",
        180_000,
      );
      const trace = await grid.user.json<
        { trace: { state: string; reason: string }[] }
      >(
        "GET",
        `/api/v1/jobs/${long}/trace`,
      );
      const text = JSON.stringify(trace);
      assertStringIncludes(text, "preempt");
    } catch (e) {
      try {
        factory?.kill("SIGTERM");
      } catch { /* gone */ }
      const log = await factoryLog;
      throw new Error(
        `${(e as Error).message}\nfactory log:\n${log.slice(-4000)}`,
      );
    } finally {
      try {
        factory?.kill("SIGTERM");
      } catch { /* gone */ }
      await factory?.status;
      await factoryLog;
      await slurm.stop();
      await grid.close();
    }
  },
});

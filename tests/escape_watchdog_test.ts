/**
 * Watchdog escapes (issue 12, findings 2 and 3a): a payload names itself
 * (comm) "x\n<pid> (", which a line-based reader of `/proc/<pid>/stat`
 * takes for a second process <pid> in the job's tree. Each test runs the
 * payload as a real job through a real grid and agent process:
 *
 * - aimed at a host victim: cancelling the job must not signal the victim;
 * - aimed at the agent itself: the agent and a concurrent job survive;
 * - the same trick must not hide the payload's memory from the limit.
 */
import { assert, assertEquals } from "@std/assert";
import { type Grid, needs, startGrid } from "./_grid.ts";
import {
  job,
  killMarked,
  marker,
  pgrep,
  spawnAgent,
  waitFor,
} from "./_agent_helpers.ts";

const FIXTURE = new URL("./fixtures/comm_inject.pl", import.meta.url);
const FINAL = ["DONE", "KILLED", "ERROR_E", "ERROR_A", "WAITING", "ZOMBIE"];
const AGENT_FLAGS = [
  "--cores",
  "2",
  "--max-empty",
  "1",
  "--heartbeat",
  "1",
  "--sample",
  "1",
  "--kill-grace",
  "2",
];

async function uploadFixture(grid: Grid, m: string): Promise<string> {
  const lfn = `/jdoe/escape-${m}/comm_inject.pl`;
  await grid.user.upload(lfn, await Deno.readFile(FIXTURE));
  return lfn;
}

function injectJdl(
  lfn: string,
  target: string | number,
  m: string,
  o: { holdMb?: number; seconds?: number; extra?: string } = {},
): string {
  return [
    `Executable = "/usr/bin/perl";`,
    `Arguments = "comm_inject.pl ${target} ${o.holdMb ?? 0} ${
      o.seconds ?? 300
    } sp${m}";`,
    `InputFile = {"LF:${lfn}"};`,
    `TTL = 300;`,
    o.extra ?? "",
  ].join("\n") + "\n";
}

/**
 * A file below `/proc`, read through `cat` (Deno wants `--allow-all` for
 * any read there; the test task has unrestricted `--allow-run`).
 */
async function procFile(path: string): Promise<string | undefined> {
  const out = await new Deno.Command("cat", {
    args: [path],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

/** Whether `pid` is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  const stat = await procFile(`/proc/${pid}/stat`);
  return stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/** Pids (among `pids`) whose comm was rewritten by the fixture. */
async function injected(pids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of pids) {
    if ((await procFile(`/proc/${p}/comm`))?.startsWith("x\n")) out.push(p);
  }
  return out;
}

async function waitState(
  grid: Grid,
  id: string,
  states: string[],
  ms = 90_000,
) {
  let last = "";
  await waitFor(
    `job ${id} in ${states.join("/")} (last: ${last})`,
    async () => {
      last = (await job(grid, id)).state;
      return states.includes(last);
    },
    ms,
  );
  return (await job(grid, id)).state;
}

const RUNTIMES = ["bwrap", "none"] as const;

for (const containers of RUNTIMES) {
  Deno.test({
    name:
      `escape watchdog (${containers}): a comm naming a host pid does not get that pid signalled on cancel`,
    ignore: containers === "bwrap" && needs("bwrap"),
    fn: async () => {
      const grid = await startGrid();
      const m = marker();
      const victim = new Deno.Command("sleep", {
        args: [`${600}`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const agent = spawnAgent(grid, {
        containers,
        extraArgs: AGENT_FLAGS,
      });
      try {
        const lfn = await uploadFixture(grid, m);
        const id = await grid.submit(injectJdl(lfn, victim.pid, m));
        await waitFor(
          "the payload renamed itself",
          async () => (await injected(await pgrep(`sp${m}`))).length > 0,
          90_000,
        );
        // Let the watchdog sample the renamed payload a few times.
        await new Promise((r) => setTimeout(r, 3000));
        await grid.user.request("POST", `/api/v1/jobs/${id}/kill`);
        await waitFor(
          "the payload gone",
          async () => (await pgrep(`sp${m}`)).length === 0,
          60_000,
        );
        const d = await agent.done();
        assertEquals(d.code, 0, d.log);
        assertEquals((await job(grid, id)).state, "KILLED");
        assert(
          await alive(victim.pid),
          `host victim ${victim.pid} was killed\n${d.log}`,
        );
      } finally {
        await agent.kill();
        try {
          victim.kill("SIGKILL");
        } catch { /* gone */ }
        await victim.status;
        await killMarked(`sp${m}`);
        await grid.close();
      }
    },
  });
}

Deno.test({
  name:
    "escape watchdog: a comm naming the agent's pid harms neither the agent nor a concurrent job",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    const m = marker();
    try {
      const lfn = await uploadFixture(grid, m);
      const evil = await grid.submit(injectJdl(lfn, "agent", m));
      const good = await grid.submit(
        [
          `Executable = "/bin/sh";`,
          `Arguments = "-c 'sleep 30' sp${m}";`,
          `TTL = 300;`,
        ].join("\n") + "\n",
      );
      const agent = spawnAgent(grid, {
        containers: "bwrap",
        extraArgs: AGENT_FLAGS,
      });
      try {
        await waitFor(
          "the payload renamed itself",
          async () => (await injected(await pgrep(`sp${m}`))).length > 0,
          90_000,
        );
        const renamed = await injected(await pgrep(`sp${m}`));
        const comm = await procFile(`/proc/${renamed[0]}/comm`);
        assertEquals(comm, `x\n${agent.child.pid} (\n`, "aimed at the agent");
        // Running alongside (or, on a very slow machine, already over).
        await waitState(grid, good, ["RUNNING", ...FINAL]);
        await new Promise((r) => setTimeout(r, 3000));
        await grid.user.request("POST", `/api/v1/jobs/${evil}/kill`);
        assertEquals(await waitState(grid, evil, FINAL), "KILLED");
        assertEquals(
          await waitState(grid, good, FINAL),
          "DONE",
          agent.log(),
        );
        const d = await agent.done();
        assertEquals(d.code, 0, d.log);
        assert(!/preempt/i.test(d.log), d.log);
      } finally {
        await agent.kill();
      }
    } finally {
      await killMarked(`sp${m}`);
      await grid.close();
    }
  },
});

for (const containers of RUNTIMES) {
  Deno.test({
    name:
      `escape watchdog (${containers}): a renamed process holding 300 MiB with MemorySize = 50 is killed (code 80)`,
    ignore: containers === "bwrap" && needs("bwrap"),
    fn: async () => {
      const grid = await startGrid();
      const m = marker();
      try {
        const lfn = await uploadFixture(grid, m);
        // A pid that does not exist: the real payload vanishes from a
        // line-based scan, and its stand-in has no memory to read.
        const id = await grid.submit(
          injectJdl(lfn, 3999999, m, {
            holdMb: 300,
            seconds: 25,
            extra: "MemorySize = 50;",
          }),
        );
        const agent = spawnAgent(grid, { containers, extraArgs: AGENT_FLAGS });
        try {
          const d = await agent.done();
          assertEquals(d.code, 0, d.log);
          const j = await job(grid, id);
          assertEquals([j.state, j.killReason], ["ERROR_E", 80], d.log);
        } finally {
          await agent.kill();
        }
      } finally {
        await killMarked(`sp${m}`);
        await grid.close();
      }
    },
  });
}

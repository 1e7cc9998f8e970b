/**
 * Benchmark entry `kill`: how fast a user's kill stops a payload with the
 * agent's defaults (60 s heartbeat, 2 s kill check; see
 * `src/agent/kill_watch.ts`), and what the kill check costs the broker
 * next to the heartbeat it complements.
 *
 * Latency: the payload traps SIGTERM and prints the time it got it; the
 * clock starts just before `POST /kill`. Cost: sequential round trips of
 * the kill check (`GET /api/v1/jobs/:id`) against the heartbeat (`POST
 * /api/v1/jobs/:id/heartbeat`, the baseline), on the same job and client.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { TextLineStream } from "@std/streams";
import { agentCommand } from "../src/launch/role_process.ts";
import { KILL_CHECK_SECONDS } from "../src/agent/kill_watch.ts";
import type { BenchRow } from "./bench_row.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";

/** Options of {@link benchKill}. */
export interface BenchKillOptions {
  /** Fewer rounds. */
  quick?: boolean;
  /** Runtime of the agent. @default "none" */
  containers?: "bwrap" | "none";
}

const GOAL_MS = 5000;
const TRAP_JDL = `Executable = "/bin/sh";
Arguments = "-c 't() { echo TERM-AT $(date +%s%3N); exit 143; }; trap t TERM; echo READY; while :; do sleep 0.1; done'";
TTL = 600;
`;

/** Runs the entry; see the module doc. */
export async function benchKill(
  opts: BenchKillOptions = {},
): Promise<BenchRow[]> {
  const rounds = opts.quick ? 2 : 5;
  const grid = await startBenchGrid();
  try {
    const latencies: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [id] = await grid.submit(TRAP_JDL, 1);
      const { cmd, args } = agentCommand({
        broker: grid.url,
        tokenDir: grid.agentTokenDir,
        workRoot: `${grid.dir}/work`,
        containers: opts.containers ?? "none",
        extraArgs: ["--max-empty", "1"],
      });
      const child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      let t0 = 0;
      let termAt: number | undefined;
      const lines = child.stderr.pipeThrough(new TextDecoderStream())
        .pipeThrough(new TextLineStream());
      for await (const line of lines) {
        if (t0 === 0 && line.endsWith("stdout: READY")) {
          t0 = Date.now();
          await grid.user.json("POST", `/api/v1/jobs/${id}/kill`);
        }
        const m = /stdout: TERM-AT (\d+)/.exec(line);
        if (m) termAt = Number(m[1]);
      }
      await child.status;
      if (termAt === undefined) {
        throw new Error(`job ${id}: the payload never got SIGTERM`);
      }
      latencies.push(termAt - t0);
    }
    // The cost: one kill check against one heartbeat, same job, same client.
    const [probe] = await grid.submit(`Executable = "/bin/true";\nTTL = 60;\n`);
    const matched = await grid.agent.json<{ jobId: string }>(
      "POST",
      "/api/v1/match",
      { ttl: 3600, cpuCores: 1 },
    );
    if (matched?.jobId !== probe) {
      throw new Error("could not match the probe job");
    }
    const n = opts.quick ? 100 : 400;
    // CPU per request of this process: the broker and the client together
    // (an upper bound on the broker's share).
    const time = async (fn: () => Promise<unknown>) => {
      const out: number[] = [];
      const cpu0 = cpuUsage();
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await fn();
        out.push(performance.now() - t);
      }
      const cpu = cpuUsage(cpu0);
      return { ...summarize(out), cpuMs: (cpu.user + cpu.system) / 1000 / n };
    };
    const path = `/api/v1/jobs/${probe}`;
    const check = await time(() => grid.agent.json("GET", path));
    const beat = await time(() =>
      grid.agent.json("POST", `${path}/heartbeat`, {})
    );
    const s = summarize(latencies);
    return [
      {
        measure:
          `kill latency: user kill → payload SIGTERM, default heartbeat (60 s) and kill check (${KILL_CHECK_SECONDS} s)`,
        ours: round(s.median),
        unit: "ms",
        goal: `≤ ${GOAL_MS}`,
        met: s.max <= GOAL_MS,
        note: `${describe(s, "ms")}; the payload stamps its SIGTERM`,
      },
      {
        measure: "kill check cost: GET job vs heartbeat (baseline)",
        ours: round(check.cpuMs, 3),
        baseline: round(beat.cpuMs, 3),
        unit: "CPU ms/request",
        ratio: round(check.cpuMs / beat.cpuMs),
        note:
          `broker + client CPU in one process, ${n} sequential requests each (round trip: check ${
            describe(check, "ms")
          }; heartbeat ${
            describe(beat, "ms")
          }); one check every ${KILL_CHECK_SECONDS} s per running job: 100 running jobs cost ≈ ${
            round((100 / KILL_CHECK_SECONDS) * check.cpuMs / 10, 2)
          } % of one core`,
      },
    ];
  } finally {
    await grid.close();
  }
}

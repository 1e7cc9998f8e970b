/**
 * End-to-end throughput: N jobs with payload `/bin/true` through a real
 * broker and one real agent process (`--cores 2`, wrappers in bwrap), and
 * the broker round trips each job costs.
 *
 * Round trips are counted, not estimated: the broker runs in this process
 * behind a counter (see `_bench_grid.ts`) that tells callers apart by their
 * client certificate (the agent's, the user's, or a job token).
 *
 * Jobs/s is taken over the steady part of the run: from the first match
 * the agent logs to the last job it reports finished, so the agent's own
 * start-up (Deno start, runtime probe) is not spread over the jobs; the
 * total wall time is in the note.
 *
 * @module
 */
import { agentCommand } from "../src/launch/role_process.ts";
import { TextLineStream } from "@std/streams";
import type { BenchRow } from "./bench_row.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";

/** Options of {@link benchThroughput}. */
export interface BenchThroughputOptions {
  /** 100 jobs instead of 500. @default false */
  quick?: boolean;
  /** Jobs to run. @default 100 quick, 500 full */
  jobs?: number;
  /** Runtime for the wrappers. @default "bwrap" */
  containers?: "bwrap" | "none";
}

/** Goal: jobs per second. */
const GOAL_JOBS_PER_S = 15;
const JDL = `Executable = "/bin/true";\nTTL = 60;\n`;
const FINAL_LINE = /^\[agent\] job (\S+): ([A-Z_]+) \(exit -?\d+\)/;

/** Runs the throughput entry; see the module doc. */
export async function benchThroughput(
  opts: BenchThroughputOptions = {},
): Promise<BenchRow[]> {
  const n = opts.jobs ?? (opts.quick ? 100 : 500);
  const containers = opts.containers ?? "bwrap";
  const grid = await startBenchGrid();
  try {
    await grid.submit(JDL, n);
    grid.counts.clear();
    const { cmd, args } = agentCommand({
      broker: grid.url,
      tokenDir: grid.agentTokenDir,
      workRoot: `${grid.dir}/work`,
      containers,
      extraArgs: ["--cores", "2", "--max-empty", "1"],
    });
    const t0 = performance.now();
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stdout = new Response(child.stdout).text();
    let firstMatch: number | undefined;
    const ends: number[] = [];
    const states = new Map<string, number>();
    const tail: string[] = [];
    const lines = child.stderr.pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream());
    for await (const line of lines) {
      const now = performance.now();
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (firstMatch === undefined && / matched \(/.test(line)) {
        firstMatch = now;
      }
      const m = FINAL_LINE.exec(line);
      if (m) {
        ends.push(now);
        states.set(m[2], (states.get(m[2]) ?? 0) + 1);
      }
    }
    const status = await child.status;
    const wall = (performance.now() - t0) / 1000;
    await stdout;
    if (!status.success || ends.length !== n || firstMatch === undefined) {
      throw new Error(
        `agent exited ${status.code} after ${ends.length}/${n} jobs: ${
          tail.join(" | ")
        }`,
      );
    }
    const steady = (ends[ends.length - 1] - firstMatch) / 1000;
    const rate = n / steady;
    // Rates over windows of consecutive completions give min and median.
    const win = Math.max(10, Math.floor(n / 10));
    const windows: number[] = [];
    for (let i = win; i < ends.length; i += win) {
      windows.push(win / ((ends[i] - ends[i - win]) / 1000));
    }
    const done = states.get("DONE") ?? 0;
    let total = 0;
    const parts: string[] = [];
    for (const [key, count] of [...grid.counts].sort()) {
      total += count;
      parts.push(`${key} ${round(count / n, 3)}`);
    }
    return [
      {
        measure:
          `end-to-end throughput: ${n} × /bin/true, 1 agent --cores 2, ${containers}`,
        ours: round(rate),
        unit: "jobs/s",
        goal: `≥ ${GOAL_JOBS_PER_S}`,
        met: rate >= GOAL_JOBS_PER_S,
        note: `first match → last job end ${
          round(steady)
        } s; per ${win} jobs: ${
          windows.length > 0
            ? describe(summarize(windows), "jobs/s")
            : "run too short"
        }; agent wall ${
          round(wall)
        } s incl. start-up and probe; ${done}/${n} DONE`,
      },
      {
        measure: "broker round trips per job (counted at the broker)",
        ours: round(total / n),
        unit: "requests",
        note: `per job, by caller and endpoint: ${parts.join(", ")}`,
      },
    ];
  } finally {
    await grid.close();
  }
}

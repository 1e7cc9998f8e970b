/**
 * End-to-end throughput: N jobs with payload `/bin/true` through a real
 * broker and real agent processes (wrappers in bwrap), once with one agent
 * `--cores 2` and once with two agents `--cores 1` (the same two cores),
 * and what each job costs the broker: requests, and durable syncs of the
 * SQLite queue.
 *
 * Round trips are counted, not estimated: the broker runs in this process
 * behind a counter (see `_bench_grid.ts`) that tells callers apart by their
 * client certificate (an agent's, the user's, or a job token). Syncs are
 * the queue's own counters (`SqliteJobStore.writes`/`.syncs`).
 *
 * Jobs/s is taken over the steady part of each run: from the first match
 * an agent logs to the last job reported finished, so the agents' own
 * start-up (Deno start, runtime probe) is not spread over the jobs; the
 * total wall time is in the note.
 *
 * @module
 */
import { agentCommand } from "../src/launch/role_process.ts";
import { TextLineStream } from "@std/streams";
import type { BenchRow } from "./bench_row.ts";
import { type BenchGrid, startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";

/** Options of {@link benchThroughput}. */
export interface BenchThroughputOptions {
  /** Unused: the run is the same (500 jobs per configuration). */
  quick?: boolean;
  /** Jobs per configuration. @default 500 */
  jobs?: number;
  /** Runtime for the wrappers. @default "bwrap" */
  containers?: "bwrap" | "none";
  /** Also run two agents `--cores 1`. @default true */
  twoAgents?: boolean;
}

/** Goal: jobs per second. */
const GOAL_JOBS_PER_S = 25;
/** Goal: broker requests per job. */
const GOAL_REQUESTS = 4;
const JDL = `Executable = "/bin/true";\nTTL = 60;\n`;
const FINAL_LINE = /^\[agent\] job (\S+): ([A-Z_]+) \(exit -?\d+\)/;
const POOL_LINE = /pre-started wrappers: (\d+) used, (\d+) cold starts/;

interface Run {
  rate: number;
  steady: number;
  wall: number;
  windows: number[];
  win: number;
  done: number;
  warm: number;
  cold: number;
}

/** Runs `agents` agents with `cores` each until the queue is empty. */
async function runAgents(
  grid: BenchGrid,
  n: number,
  containers: "bwrap" | "none",
  agents: { tokenDir: string; cores: number }[],
): Promise<Run> {
  const t0 = performance.now();
  let firstMatch: number | undefined;
  const ends: number[] = [];
  const states = new Map<string, number>();
  let warm = 0, cold = 0;
  const one = async (a: { tokenDir: string; cores: number }, i: number) => {
    const { cmd, args } = agentCommand({
      broker: grid.url,
      tokenDir: a.tokenDir,
      workRoot: `${grid.dir}/work${i}`,
      containers,
      extraArgs: ["--cores", String(a.cores), "--max-empty", "1"],
    });
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
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
      const p = POOL_LINE.exec(line);
      if (p) {
        warm += Number(p[1]);
        cold += Number(p[2]);
      }
    }
    const status = await child.status;
    if (!status.success) {
      throw new Error(`agent ${i} exited ${status.code}: ${tail.join(" | ")}`);
    }
  };
  await Promise.all(agents.map(one));
  const wall = (performance.now() - t0) / 1000;
  if (ends.length !== n || firstMatch === undefined) {
    throw new Error(`the agents ended ${ends.length}/${n} jobs`);
  }
  ends.sort((a, b) => a - b);
  const steady = (ends[ends.length - 1] - firstMatch) / 1000;
  // Rates over windows of consecutive completions give min and median.
  const win = Math.max(10, Math.floor(n / 10));
  const windows: number[] = [];
  for (let i = win; i < ends.length; i += win) {
    windows.push(win / ((ends[i] - ends[i - win]) / 1000));
  }
  return {
    rate: n / steady,
    steady,
    wall,
    windows,
    win,
    done: states.get("DONE") ?? 0,
    warm,
    cold,
  };
}

function rateRow(measure: string, n: number, r: Run): BenchRow {
  return {
    measure,
    ours: round(r.rate),
    unit: "jobs/s",
    goal: `≥ ${GOAL_JOBS_PER_S}`,
    met: r.rate >= GOAL_JOBS_PER_S,
    note: `first match → last job end ${
      round(r.steady)
    } s; per ${r.win} jobs: ${
      r.windows.length > 0
        ? describe(summarize(r.windows), "jobs/s")
        : "run too short"
    }; agent wall ${
      round(r.wall)
    } s incl. start-up and probe; ${r.done}/${n} DONE; pre-started wrappers used ${r.warm}, cold starts ${r.cold}`,
  };
}

/** Runs the throughput entry; see the module doc. */
export async function benchThroughput(
  opts: BenchThroughputOptions = {},
): Promise<BenchRow[]> {
  const n = opts.jobs ?? 500;
  const containers = opts.containers ?? "bwrap";
  const rows: BenchRow[] = [];
  const grid = await startBenchGrid();
  try {
    await grid.submit(JDL, n);
    grid.counts.clear();
    const writes0 = grid.store.writes, syncs0 = grid.store.syncs;
    const one = await runAgents(grid, n, containers, [
      { tokenDir: grid.agentTokenDir, cores: 2 },
    ]);
    const writes = grid.store.writes - writes0;
    const syncs = grid.store.syncs - syncs0;
    rows.push(rateRow(
      `end-to-end throughput: ${n} × /bin/true, 1 agent --cores 2, ${containers}`,
      n,
      one,
    ));
    let total = 0;
    const parts: string[] = [];
    const perRun: string[] = [];
    for (const [key, count] of [...grid.counts].sort()) {
      if (key.endsWith("(empty)")) {
        perRun.push(`${count} ${key}`);
        continue;
      }
      total += count;
      parts.push(`${key} ${round(count / n, 3)}`);
    }
    rows.push({
      measure: "broker requests per job (counted at the broker)",
      ours: round(total / n),
      unit: "requests",
      goal: `≤ ${GOAL_REQUESTS}`,
      met: total / n <= GOAL_REQUESTS,
      note: `per job, by caller and endpoint: ${parts.join(", ")}${
        perRun.length > 0 ? `; per run, not counted: ${perRun.join(", ")}` : ""
      }`,
    });
    rows.push({
      measure: "SQLite group commit: durable syncs per job",
      ours: round(syncs / n),
      unit: "syncs",
      note: `${round(writes / n)} write transactions per job, ${
        round(writes / Math.max(1, syncs))
      } per sync (one sync per request at most, shared by concurrent requests)`,
    });
    if (opts.twoAgents ?? true) {
      await grid.submit(JDL, n);
      const two = await runAgents(grid, n, containers, [
        { tokenDir: grid.agentTokenDir, cores: 1 },
        { tokenDir: grid.agentTokenDir2, cores: 1 },
      ]);
      rows.splice(
        1,
        0,
        rateRow(
          `end-to-end throughput: ${n} × /bin/true, 2 agents --cores 1, ${containers}`,
          n,
          two,
        ),
      );
    }
  } finally {
    await grid.close();
  }
  return rows;
}

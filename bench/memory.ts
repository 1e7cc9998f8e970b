/**
 * Memory at steady state: resident set size of a real agent process and
 * of its wrappers while payloads run, beside the agent and wrapper JVMs of
 * the two-JVM baseline doing the same.
 *
 * "Steady" means a payload has been running for a second: a wrapper is
 * sampled only from 1 s after its `sleep` payload appeared below it, and
 * an agent only while at least one of its wrappers is steady. Samples come from `ps` every 250 ms (see
 * `_procfs.ts`); the median is reported, the spread is in the note.
 *
 * @module
 */
import { agentCommand } from "../src/launch/role_process.ts";
import type { BenchRow } from "./bench_row.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { descendants, processTable, type ProcInfo } from "./_procfs.ts";
import { describe, round, summarize } from "./_stats.ts";
import { startAgentJvm, type TwoJvm } from "./two_jvm.ts";

/** Options of {@link benchMemory}. */
export interface BenchMemoryOptions {
  /** Fewer, shorter jobs. @default false */
  quick?: boolean;
  /** The compiled two-JVM baseline, or why it is skipped. */
  jvm?: TwoJvm | string;
  /** Sleep jobs the agent runs (2 at a time). @default 4 quick, 6 full */
  jobs?: number;
  /** Seconds each payload sleeps (the first one is not sampled).
   * @default 3 quick, 5 full */
  seconds?: number;
}

/** Goal: RSS of each process, MB. */
const GOAL_MB = 60;
const SAMPLE_MS = 250;
/** How long a payload runs before its wrapper counts as steady, ms. */
const SETTLE_MS = 1000;

/** RSS samples (KiB) of an agent and of its wrappers at steady state. */
export interface RssSamples {
  /** Agent samples. */
  agent: number[];
  /** Wrapper samples (all wrappers pooled). */
  wrapper: number[];
}

/**
 * Samples the tree under `root` until `done` settles. `isWrapper` picks the
 * wrapper processes; `isPayload` their payloads.
 */
export async function sampleTree(
  root: number,
  done: Promise<unknown>,
  isWrapper: (p: ProcInfo) => boolean,
  isPayload: (p: ProcInfo) => boolean,
  settleMs = SETTLE_MS,
): Promise<RssSamples> {
  const out: RssSamples = { agent: [], wrapper: [] };
  // When each wrapper was first seen with its payload running.
  const since = new Map<number, number>();
  let finished = false;
  const settled = done.finally(() => finished = true);
  settled.catch(() => {});
  while (!finished) {
    const table = await processTable();
    const now = performance.now();
    const agent = table.find((p) => p.pid === root);
    let steady = false;
    for (const w of descendants(table, root).filter(isWrapper)) {
      if (!descendants(table, w.pid).some(isPayload)) continue;
      if (!since.has(w.pid)) since.set(w.pid, now);
      // Start-up garbage is not steady state: let it settle first.
      if (now - since.get(w.pid)! >= settleMs) {
        steady = true;
        out.wrapper.push(w.rssKib);
      }
    }
    if (agent && steady) out.agent.push(agent.rssKib);
    await Promise.race([
      settled.catch(() => {}),
      new Promise((r) => setTimeout(r, SAMPLE_MS)),
    ]);
  }
  await done;
  return out;
}

const isSleep = (p: ProcInfo) => /(^|\/)sleep \d/.test(p.args);

async function ours(jobs: number, seconds: number): Promise<RssSamples> {
  const grid = await startBenchGrid();
  try {
    await grid.submit(
      `Executable = "/bin/sleep";\nArguments = "${seconds}";\nTTL = 60;\n`,
      jobs,
    );
    const { cmd, args } = agentCommand({
      broker: grid.url,
      tokenDir: grid.agentTokenDir,
      workRoot: `${grid.dir}/work`,
      containers: "auto",
      extraArgs: ["--cores", "2", "--max-empty", "1"],
    });
    const child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const log = new Response(child.stderr).text();
    const samples = await sampleTree(
      child.pid,
      child.status,
      // Launchers (bwrap, setpriv/unshare) carry the same argv tail; the
      // wrapper is the process that is deno itself.
      (p) => /^(\S*\/)?deno run .*wrapper\.ts /.test(p.args),
      isSleep,
    );
    const status = await child.status;
    if (!status.success) {
      throw new Error(
        `agent exited with ${status.code}: ${(await log).slice(-500)}`,
      );
    }
    return samples;
  } finally {
    await grid.close();
  }
}

async function theirs(
  jvm: TwoJvm,
  jobs: number,
  seconds: number,
): Promise<RssSamples> {
  const agent = startAgentJvm(jvm, {
    payload: ["/bin/sleep", String(seconds)],
  });
  const run = (async () => {
    for (let i = 1; i <= jobs; i++) {
      const j = await agent.runJob({ id: String(i) });
      if (j.exitCode !== 0) {
        throw new Error(`two-JVM sleep job exited with ${j.exitCode}`);
      }
    }
  })();
  try {
    return await sampleTree(
      agent.pid,
      run,
      (p) => p.args.includes(" WrapperJvm"),
      isSleep,
    );
  } finally {
    await agent.close();
  }
}

function mb(kib: number): number {
  return kib * 1024 / 1e6;
}

function row(
  measure: string,
  oursKib: number[],
  theirsKib: number[] | undefined,
  skip: string | undefined,
): BenchRow {
  if (oursKib.length === 0) {
    throw new Error(`no steady-state samples for "${measure}"`);
  }
  const s = summarize(oursKib.map(mb));
  const t = theirsKib && theirsKib.length > 0
    ? summarize(theirsKib.map(mb))
    : undefined;
  return {
    measure,
    ours: round(s.median),
    ...(t
      ? { baseline: round(t.median), ratio: round(s.median / t.median) }
      : {}),
    unit: "MB",
    goal: `≤ ${GOAL_MB}`,
    met: s.median <= GOAL_MB,
    note: `ours ${describe(s, "MB")}; ${
      t ? `two-JVM ${describe(t, "MB")}` : skip ?? "no two-JVM samples"
    }`,
  };
}

/** Runs the memory entry; see the module doc. */
export async function benchMemory(
  opts: BenchMemoryOptions = {},
): Promise<BenchRow[]> {
  const jobs = opts.jobs ?? (opts.quick ? 4 : 6);
  const seconds = opts.seconds ?? (opts.quick ? 3 : 5);
  const o = await ours(jobs, seconds);
  const jvm = opts.jvm;
  const t = typeof jvm === "object"
    ? await theirs(jvm, Math.ceil(jobs / 2), seconds)
    : undefined;
  const skip = typeof jvm === "string" ? jvm : undefined;
  return [
    row(
      "RSS of the agent, steady, 2 jobs at a time (vs agent JVM, 1 at a time)",
      o.agent,
      t?.agent,
      skip,
    ),
    row(
      "RSS of one wrapper, steady, payload running (vs wrapper JVM)",
      o.wrapper,
      t?.wrapper,
      skip,
    ),
  ];
}

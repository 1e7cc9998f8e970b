/**
 * Watchdog benchmark entry (issue 7):
 *
 * - CPU the watchdog spends per second of sampling at 1 Hz on a payload
 *   tree of 200 processes (goal ≤ 1% of one core): this process's CPU plus
 *   the procfs coprocess's (its own and its `cat`/`grep`/`du`/`find`
 *   children), with the job's real limits checked every tick. Baseline:
 *   a watchdog that runs `ps` and `du` every second, measured the same way.
 * - RSS of a real agent process and of its wrappers at steady state (two
 *   `sleep` payloads running in bwrap, or `none` without it; goal ≤ 60 MB
 *   each).
 *
 * ```sh
 * deno run -A bench/watchdog.ts [--quick]
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";
import type { BenchRow } from "./bench_row.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { agentCommand } from "../src/launch/role_process.ts";
import { jobLimits } from "../src/watchdog/limits.ts";
import { ProcfsSampler } from "../src/watchdog/procfs_sampler.ts";
import { Watchdog } from "../src/watchdog/watchdog.ts";
import { collectTree } from "../src/watchdog/_proc_stat.ts";

/** Options of {@link benchWatchdog}. */
export interface BenchWatchdogOptions {
  /** Shorter runs. @default false */
  quick?: boolean;
}

const CPU_GOAL_PCT = 1;
const RSS_GOAL_MB = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

/** A detached shell with `n` sleeping children; kill it with `stop`. */
function payloadTree(n: number) {
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      `i=0; while [ $i -lt ${n} ]; do sleep 600 & i=$((i+1)); done; wait`,
    ],
    detached: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    pid: child.pid,
    stop: async () => {
      await new Deno.Command("/bin/kill", {
        args: ["-s", "KILL", "--", `-${child.pid}`],
      }).output().catch(() => {});
      await child.status;
    },
  };
}

/** CPU % of one core the watchdog costs on a 200-process tree at 1 Hz. */
async function watchdogCpu(seconds: number): Promise<BenchRow> {
  const sampler = await ProcfsSampler.start();
  const tree = payloadTree(200);
  const sandbox = await Deno.makeTempDir({ prefix: "splitpilot-bench-wd-" });
  try {
    for (let i = 0; i < 20; i++) {
      await Deno.writeFile(`${sandbox}/f${i}`, new Uint8Array(64 * 1024));
    }
    const watched = await sampler.watch(tree.pid, { sandbox });
    for (let i = 0; i < 100; i++) {
      if ((await watched.sample({ pss: false })).processes >= 201) break;
      await sleep(100);
    }
    const processes = (await watched.sample({ pss: false })).processes;
    const wd = new Watchdog({
      sampler,
      tree: watched,
      sandbox,
      limits: jobLimits(
        {
          ttl: 86400,
          memorySize: 2 ** 31,
          workDirectorySize: 2 ** 33,
          cpuCores: 1,
        },
        { cores: 1 },
      ),
      onViolation: (v) => {
        throw new Error(`unexpected violation: ${v.message}`);
      },
      intervalMs: 1000,
      pssIntervalMs: 60_000,
    });
    const c0 = process.cpuUsage();
    const s0 = await sampler.selfCpuSeconds();
    const t0 = performance.now();
    wd.start();
    await sleep(seconds * 1000);
    await wd.stop();
    const wall = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage();
    const s1 = await sampler.selfCpuSeconds();
    const own = (c1.user + c1.system - c0.user - c0.system) / 1e6;
    const pct = (own + s1 - s0) / wall * 100;
    await watched.release();
    const baseline = await psWatchdogCpu(seconds, sandbox);
    return {
      measure: `watchdog CPU at 1 Hz, ${processes}-process tree`,
      ours: round(pct, 3),
      baseline: round(baseline, 3),
      unit: "% of a core",
      ratio: round(pct / baseline, 2),
      goal: `≤ ${CPU_GOAL_PCT}%`,
      met: pct <= CPU_GOAL_PCT,
      note: `${seconds} s: agent ${round(own * 1000 / wall)} ms/s, ` +
        `coprocess ${round((s1 - s0) * 1000 / wall)} ms/s; PSS read only ` +
        `when RSS could break the limit or at heartbeats; baseline: ps + du every second`,
    };
  } finally {
    await tree.stop();
    await sampler.close();
    await Deno.remove(sandbox, { recursive: true }).catch(() => {});
  }
}

/** CPU % of a naive watchdog: `ps` of every process and `du` each second. */
async function psWatchdogCpu(seconds: number, dir: string): Promise<number> {
  const script = `i=0; while [ $i -lt ${seconds} ]; do
    ps -e -o pid=,ppid=,rss=,time= >/dev/null; du -sk "$1" >/dev/null
    sleep 1; i=$((i+1)); done; cat /proc/$$/stat`;
  const t0 = performance.now();
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", script, "sh", dir],
    stdout: "piped",
  }).output();
  const wall = (performance.now() - t0) / 1000;
  const f = new TextDecoder().decode(out.stdout).trim().split(") ")[1]
    .split(" ");
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const hz = Number(
    new TextDecoder().decode(
      (await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output())
        .stdout,
    ),
  );
  return ticks / hz / wall * 100;
}

/** RSS (MB) of an agent and its wrappers while two payloads run. */
async function steadyRss(samples: number): Promise<BenchRow[]> {
  const grid = await startBenchGrid();
  const sampler = await ProcfsSampler.start();
  const hasBwrap = await Deno.stat("/usr/bin/bwrap").then(
    () => true,
    () => false,
  );
  const containers = hasBwrap ? "bwrap" : "none";
  const { cmd, args } = agentCommand({
    broker: grid.url,
    tokenDir: grid.agentTokenDir,
    workRoot: `${grid.dir}/work`,
    containers,
    extraArgs: ["--cores", "2", "--wait", "--heartbeat", "5", "--sample", "5"],
  });
  const agent = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await grid.submit(
      `Executable = "/bin/sleep";\nArguments = "600";\nTTL = 900;\n`,
      2,
    );
    const agentRss: number[] = [];
    const wrapperRss: number[] = [];
    const mb = (pages: number) => pages * sampler.pageSize / 2 ** 20;
    let steady = 0;
    for (let i = 0; i < 600 && agentRss.length < samples; i++) {
      const procs = await sampler.scan(true);
      const tree = collectTree(procs, [{
        pid: agent.pid,
        startTime: procs.get(agent.pid)?.startTime ?? -1,
      }]);
      const wrappers = tree.filter((p) =>
        p.comm === "deno" && p.pid !== agent.pid &&
        tree.some((c) => c.ppid === p.pid && c.comm === "sleep")
      );
      if (wrappers.length === 2) {
        // Let start-up garbage settle before counting.
        if (steady++ >= 4) {
          agentRss.push(mb(procs.get(agent.pid)!.rssPages));
          for (const w of wrappers) wrapperRss.push(mb(w.rssPages));
        }
      }
      await sleep(500);
    }
    if (agentRss.length === 0) {
      throw new Error("the two payloads never ran under the agent");
    }
    const row = (who: string, v: number[]): BenchRow => {
      const m = median(v);
      return {
        measure: `${who} RSS at steady state (${containers})`,
        ours: round(m, 1),
        unit: "MB",
        goal: `≤ ${RSS_GOAL_MB} MB`,
        met: m <= RSS_GOAL_MB,
        note: `median of ${v.length} samples (${round(Math.min(...v), 1)}–${
          round(Math.max(...v), 1)
        }), two sleep payloads, watchdog on`,
      };
    };
    return [row("agent", agentRss), row("wrapper", wrapperRss)];
  } finally {
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        agent.kill("SIGKILL");
      } catch { /* gone */ }
    }, 20_000);
    await agent.status;
    clearTimeout(timer);
    await sampler.close();
    await grid.close();
    await Deno.remove(grid.dir, { recursive: true }).catch(() => {});
  }
}

/** Runs the watchdog entry. */
export async function benchWatchdog(
  opts: BenchWatchdogOptions = {},
): Promise<BenchRow[]> {
  const quick = opts.quick ?? false;
  return [
    await watchdogCpu(quick ? 10 : 60),
    ...(await steadyRss(quick ? 4 : 12)),
  ];
}

if (import.meta.main) {
  const flags = parseArgs(Deno.args, { boolean: ["quick"] });
  for (const r of await benchWatchdog({ quick: flags.quick })) {
    console.log(JSON.stringify(r));
  }
}

/**
 * The launch benchmark: from the agent holding a matched job to the
 * payload's first instruction, for every container runtime this host has
 * (the matrix of {@link ./launch_runtimes.ts}), each beside its floor (a
 * bare `deno run` of an empty script plus the runtime alone starting
 * `/bin/true` with the job's mounts), and, for none and bwrap, beside the
 * two-JVM baseline. All runs are interleaved round by round, so drift
 * hits all alike.
 *
 * The two-JVM baseline runs four long-lived agent JVMs (none and bwrap,
 * each with a wrapper JVM that only execs the payload — the design as
 * asked — and one that first reports STARTED and RUNNING to the same
 * broker over mutual TLS with the job token, the same work ours does).
 *
 * Ours is driven in-process: the harness probes each runtime as the agent
 * does (which fills the wrapper cache jobs start from), matches a job at a
 * real broker (mutual TLS, served from this process), then does what the
 * agent does — sandbox, launch argv, lease, `runWrapper` — with the wall
 * clock read just before. The payload is `/bin/date +%s%N`; its output
 * comes back as a `log` frame, so the end mark is the payload's own first
 * instruction.
 *
 * @module
 */
import { BwrapDriver } from "../src/container/bwrap.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import type { BenchRow } from "./bench_row.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";
import {
  elapsed,
  launchOurs,
  launchTrue,
  matchOne,
  type Milestones,
  probeVariant,
  runtimeVariants,
  type Variant,
} from "./launch_runtimes.ts";
import {
  type AgentJvm,
  type AgentJvmJobSpec,
  startAgentJvm,
  type TwoJvm,
} from "./two_jvm.ts";

/** Options of {@link benchLaunch}. */
export interface BenchLaunchOptions {
  /** Fewer rounds. @default false */
  quick?: boolean;
  /** Rounds (each runs every variant once). @default 4 quick, 12 full */
  rounds?: number;
  /** The compiled two-JVM baseline, or why it is skipped. */
  jvm?: TwoJvm | string;
  /** Also the runtimes that need the debootstrap image. @default true */
  images?: boolean;
}

/** Goal for none and bwrap: launch ≤ 1.5 × floor. */
const FLOOR_FACTOR = 1.5;
/** Goal: ours at least 2 × faster than the two-JVM launch. */
const JVM_FACTOR = 0.5;
const PAYLOAD = ["/bin/date", "+%s%N"];

function breakdown(runs: Milestones[]): string {
  const med = (f: (r: Milestones) => number) =>
    round(summarize(runs.map(f)).median);
  return `medians: runtime + Deno start + hello + start frame ${
    med((r) => r.started)
  } ms, STARTED call ${
    med((r) => r.running - r.started)
  } ms, RUNNING call + payload spawn ${med((r) => r.payload - r.running)} ms`;
}

function row(
  measure: string,
  ours: number[],
  baseline: number,
  goalFactor: number | undefined,
  goal: string | undefined,
  note: string,
): BenchRow {
  const s = summarize(ours);
  const ratio = s.median / baseline;
  return {
    measure,
    ours: round(s.median),
    baseline: round(baseline),
    unit: "ms",
    ratio: round(ratio),
    goal,
    met: goalFactor === undefined ? undefined : ratio <= goalFactor,
    note: `ours ${describe(s, "ms")}; ${note}`,
  };
}

/** The four two-JVM variants: runtime × broker calls. */
type JvmVariant = "none" | "bwrap" | "noneTls" | "bwrapTls";

/** Runs the launch entry; see the module doc. */
export async function benchLaunch(
  opts: BenchLaunchOptions = {},
): Promise<BenchRow[]> {
  const rounds = opts.rounds ?? (opts.quick ? 4 : 12);
  const log = (l: string) => console.error(`[bench launch] ${l}`);
  const grid = await startBenchGrid();
  const workRoot = `${grid.dir}/work`;
  await Deno.mkdir(workRoot, { recursive: true });
  const empty = `${grid.dir}/empty.js`;
  await Deno.writeTextFile(empty, "");
  const denoEmpty = [
    Deno.execPath(),
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    empty,
  ];
  const bwrap = new BwrapDriver();
  const bwrapPrefix = (binds: string[]) =>
    bwrap.command({
      argv: [],
      sandbox: workRoot,
      binds: binds.map((b) => ({ source: b, target: b })),
      env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
      network: "host",
    });
  const agents = new Map<JvmVariant, AgentJvm>();
  const theirs: Record<JvmVariant, number[]> = {
    none: [],
    bwrap: [],
    noneTls: [],
    bwrapTls: [],
  };
  const deno: number[] = [];
  let vs: Variant[] = [];
  try {
    vs = await runtimeVariants(log, { images: opts.images });
    for (const v of vs) await probeVariant(v, grid, workRoot);
    const hasBwrap = vs.some((v) => v.label === "bwrap (host rootfs)");
    const jvm = typeof opts.jvm === "object" ? opts.jvm : undefined;
    if (jvm) {
      const inBwrap = { launcher: bwrapPrefix([jvm.classes]) };
      agents.set("none", startAgentJvm(jvm, { payload: PAYLOAD }));
      agents.set("noneTls", startAgentJvm(jvm, { payload: PAYLOAD }));
      if (hasBwrap) {
        agents.set(
          "bwrap",
          startAgentJvm(jvm, { payload: PAYLOAD, ...inBwrap }),
        );
        agents.set(
          "bwrapTls",
          startAgentJvm(jvm, { payload: PAYLOAD, ...inBwrap }),
        );
      }
    }
    let seq = 0;
    // Round 0 warms caches (transpiled wrapper, page cache, podman's
    // storage, the agent JVMs' first job) and is dropped.
    for (let r = 0; r <= rounds; r++) {
      const keep = r > 0;
      const add = <T>(list: T[], v: T) => keep && list.push(v);
      add(deno, await elapsed(denoEmpty));
      for (const v of vs) {
        add(v.floorRt, await launchTrue(v, workRoot, ++seq));
        add(v.ours, await launchOurs(grid, v, workRoot, ++seq));
      }
      for (const [variant, agent] of agents) {
        let spec: AgentJvmJobSpec = { id: String(++seq) };
        if (variant.endsWith("Tls")) {
          const job = await matchOne(grid, variant.replace("Tls", ""));
          const tokenDir = `${grid.dir}/jvm-token-${job.jobId}`;
          await writeTokenDir(tokenDir, job.token, job.token.caPem);
          spec = { id: job.jobId, tokenDir, broker: grid.url };
        }
        const j = await agent.runJob(spec);
        if (j.exitCode !== 0 || Number.isNaN(j.launchMs)) {
          throw new Error(
            `two-JVM job (${variant}) failed: exit ${j.exitCode}`,
          );
        }
        add(theirs[variant], j.launchMs);
      }
    }
  } finally {
    for (const a of agents.values()) await a.close().catch(() => {});
    for (const v of vs) await v.close?.().catch(() => {});
    await grid.close();
  }
  const floorDeno = summarize(deno);
  const rows: BenchRow[] = vs.map((v) => {
    const rt = summarize(v.floorRt);
    const goal = v.driver.name === "none" || v.driver.name === "bwrap";
    return row(
      `launch overhead, ${v.label}: matched job → payload's first instruction`,
      v.ours.map((m) => m.payload),
      floorDeno.median + rt.median,
      goal ? FLOOR_FACTOR : undefined,
      goal ? `≤ ${FLOOR_FACTOR}× floor` : undefined,
      `floor = empty \`deno run\` (${
        describe(floorDeno, "ms")
      }) + ${v.driver.name} \`/bin/true\` with the job's mounts (${
        describe(rt, "ms")
      }); ${breakdown(v.ours)}${v.cache ? "; warm wrapper cache" : ""}`,
    );
  });
  if (!vs.some((v) => v.label === "bwrap (host rootfs)")) {
    rows.push({
      measure: "launch overhead, bwrap",
      ours: NaN,
      unit: "ms",
      note: `skipped: no ${bwrap.binary}`,
    });
  }
  const oursOf = (label: string) =>
    vs.find((v) => v.label === label)?.ours.map((m) => m.payload) ?? [];
  const oursNone = oursOf("none");
  const oursBwrap = oursOf("bwrap (host rootfs)");
  if (typeof opts.jvm !== "object") {
    rows.push({
      measure: "launch vs two-JVM (JAliEn design)",
      ours: round(summarize(oursNone).median),
      unit: "ms",
      note: typeof opts.jvm === "string"
        ? opts.jvm
        : "skipped: no two-JVM baseline prepared",
    });
    return rows;
  }
  const vs2 = (variant: JvmVariant, mine: number[], what: string) => {
    if (theirs[variant].length === 0) return;
    const t = summarize(theirs[variant]);
    rows.push(row(
      `launch vs two-JVM (JAliEn design), ${what}`,
      mine,
      t.median,
      JVM_FACTOR,
      "≤ 0.5× (ours ≥ 2× faster)",
      `two-JVM ${describe(t, "ms")}`,
    ));
  };
  vs2("none", oursNone, "none; wrapper JVM: exec only");
  vs2("bwrap", oursBwrap, "bwrap; wrapper JVM: exec only");
  vs2(
    "noneTls",
    oursNone,
    "none; wrapper JVM: STARTED, RUNNING over mTLS, then exec (as ours)",
  );
  vs2(
    "bwrapTls",
    oursBwrap,
    "bwrap; wrapper JVM: STARTED, RUNNING over mTLS, then exec (as ours)",
  );
  return rows;
}

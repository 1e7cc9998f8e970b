/**
 * Launch overhead: from the agent holding a matched job to the payload's
 * first instruction, for the `none` and `bwrap` runtimes, beside the floor
 * (bare `deno run` of an empty script; plus `bwrap … /bin/true` for bwrap)
 * and beside the two-JVM baseline, all interleaved in the same run.
 *
 * The two-JVM baseline runs four long-lived agent JVMs (none and bwrap,
 * each with a wrapper JVM that only execs the payload — the design as
 * asked — and one that first reports STARTED and RUNNING to the same
 * broker over mutual TLS with the job token, the same work ours does).
 *
 * Ours is driven in-process: the harness probes each runtime as the agent
 * does (which fills the wrapper cache jobs start from), matches a job at a
 * real broker (mutual TLS, served from this process), then does what the
 * agent does — sandbox, launch argv, lease, {@link runWrapper} — with the
 * wall clock read just before. The payload is `/bin/date +%s%N`; its output comes back as a
 * `log` frame, so the end mark is the payload's own first instruction.
 *
 * @module
 */
import { runWrapper } from "../src/agent/run_wrapper.ts";
import type { MatchedJob } from "../src/agent/run_wrapper.ts";
import { probeRuntime } from "../src/agent/probe.ts";
import {
  buildLaunch,
  prepareLaunch,
  sourceWrapperProgram,
  type WrapperCache,
} from "../src/agent/wrapper_launch.ts";
import { BwrapDriver } from "../src/container/bwrap.ts";
import type { ContainerDriver } from "../src/container/driver.ts";
import { NoneDriver } from "../src/container/none.ts";
import { parseJdl } from "../src/jdl/mod.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { decodeJson, FrameType } from "../src/pipe/mod.ts";
import type { StatusMessage } from "../src/protocol/mod.ts";
import { payloadPrograms } from "../src/protocol/programs.ts";
import type { BenchRow } from "./bench_row.ts";
import { type BenchGrid, startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";
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
}

/** Goal: launch ≤ 1.5 × floor. */
const FLOOR_FACTOR = 1.5;
/** Goal: ours at least 2 × faster than the two-JVM launch. */
const JVM_FACTOR = 0.5;
const PAYLOAD = ["/bin/date", "+%s%N"];
const JDL = `Executable = "/bin/date";\nArguments = "+%s%N";\nTTL = 60;\n`;

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Wall time of one run of `cmd`, spawn to exit, ms. */
async function elapsed(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `${cmd[0]} exited with ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return ms;
}

/** Milestones of one launch of ours, ms after the agent held the job. */
interface OurLaunch {
  /** The wrapper's STARTED status frame arrived (Deno up, hello, start). */
  started: number;
  /** Its RUNNING frame arrived (after the STARTED broker call). */
  running: number;
  /** The payload's first instruction (after the RUNNING call and spawn). */
  payload: number;
}

const SITE_MAP = {
  ce: "local::ce",
  site: "local",
  ttl: 3600,
  cpuCores: 1,
  memory: 0,
  disk: 0,
  packages: [],
};

async function matchOne(
  grid: BenchGrid,
  runtime: string,
): Promise<MatchedJob> {
  await grid.submit(JDL);
  const job = await grid.agent.json<MatchedJob>("POST", "/api/v1/match", {
    ...SITE_MAP,
    containers: [runtime],
  });
  if (!job) throw new Error("the broker matched no job for the launch bench");
  return job;
}

/** One launch of ours through `driver`. */
async function launchOurs(
  grid: BenchGrid,
  driver: ContainerDriver,
  workRoot: string,
  seq: number,
  wrapperCache: WrapperCache | undefined,
): Promise<OurLaunch> {
  const job = await matchOne(grid, driver.name);
  // The agent holds the job from here on.
  const t0 = nowMs();
  const sandbox = `${workRoot}/job-${job.jobId}-${seq}`;
  await Deno.mkdir(sandbox, { mode: 0o700 });
  const jd = parseJdl(job.jdl);
  const launch = buildLaunch({
    driver,
    program: sourceWrapperProgram(),
    sandbox,
    broker: grid.hostPort,
    payload: (workdir) => payloadPrograms(jd, workdir),
    denoDir: `${workRoot}/.deno`,
    wrapperCache,
  });
  const hold = await prepareLaunch(driver, launch);
  let stamp: string | undefined;
  const at: Record<string, number> = {};
  const lines: string[] = [];
  const outcome = await runWrapper({
    job,
    launch,
    sandbox,
    broker: grid.agent,
    brokerUrl: grid.url,
    siteMap: { ...SITE_MAP, containers: [driver.name] },
    groupKill: !driver.capabilities.pidNamespace,
    log: (line) => {
      lines.push(line);
      const m = / stdout: (\d{16,})$/.exec(line);
      if (m && stamp === undefined) stamp = m[1];
    },
    onFrame: (frame) => {
      if (frame.type !== FrameType.Status) return;
      const state = decodeJson<StatusMessage>(frame).state;
      at[state] ??= nowMs() - t0;
    },
  }).finally(() => hold.release());
  if (outcome.state !== "DONE" || stamp === undefined) {
    throw new Error(
      `launch bench job ${job.jobId} (${driver.name}) ended ${outcome.state}: ${
        outcome.message ?? lines.slice(-5).join(" | ")
      }`,
    );
  }
  // ns since the epoch does not fit a double exactly; µs does.
  const payload = Number(BigInt(stamp) / 1000n) / 1000 - t0;
  return { started: at.STARTED, running: at.RUNNING, payload };
}

function breakdown(runs: OurLaunch[]): string {
  const med = (f: (r: OurLaunch) => number) =>
    round(summarize(runs.map(f)).median);
  return `medians: Deno start + hello + start frame ${
    med((r) => r.started)
  } ms, STARTED call ${
    med((r) => r.running - r.started)
  } ms, RUNNING call + payload spawn ${med((r) => r.payload - r.running)} ms`;
}

function row(
  measure: string,
  ours: number[],
  baseline: number,
  goalFactor: number,
  goal: string,
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
    met: ratio <= goalFactor,
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
  const grid = await startBenchGrid();
  const workRoot = `${grid.dir}/work`;
  await Deno.mkdir(workRoot);
  const empty = `${grid.dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const none = new NoneDriver();
  const bwrap = new BwrapDriver();
  const hasBwrap = await Deno.stat(bwrap.binary).then(() => true, () => false);
  const bwrapPrefix = (binds: string[]) =>
    bwrap.command({
      argv: [],
      sandbox: workRoot,
      binds: binds.map((b) => ({ source: b, target: b })),
      env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
      network: "host",
    });
  // As the agent does: the real probe, which also fills the wrapper cache
  // that jobs in relocating runtimes start from.
  const caches = new Map<ContainerDriver, WrapperCache | undefined>();
  for (const driver of hasBwrap ? [none, bwrap] : [none]) {
    const cacheDir = `${workRoot}/.wrapper-cache/${driver.name}`;
    const probe = await probeRuntime(driver, {
      program: sourceWrapperProgram(),
      workRoot,
      broker: grid.hostPort,
      cacheDir,
    });
    if (!probe.ok) {
      await grid.close();
      throw new Error(`probe ${driver.name}: ${probe.message}`);
    }
    caches.set(
      driver,
      await Deno.stat(cacheDir).then(
        () => ({ mode: "use" as const, dir: cacheDir }),
        () => undefined,
      ),
    );
  }
  const jvm = typeof opts.jvm === "object" ? opts.jvm : undefined;
  const agents = new Map<JvmVariant, AgentJvm>();
  if (jvm) {
    const inBwrap = { launcher: bwrapPrefix([jvm.classes]) };
    agents.set("none", startAgentJvm(jvm, { payload: PAYLOAD }));
    agents.set("noneTls", startAgentJvm(jvm, { payload: PAYLOAD }));
    if (hasBwrap) {
      agents.set("bwrap", startAgentJvm(jvm, { payload: PAYLOAD, ...inBwrap }));
      agents.set(
        "bwrapTls",
        startAgentJvm(jvm, { payload: PAYLOAD, ...inBwrap }),
      );
    }
  }
  const ours = { none: [] as OurLaunch[], bwrap: [] as OurLaunch[] };
  const floor = { deno: [] as number[], bwrapTrue: [] as number[] };
  const theirs: Record<JvmVariant, number[]> = {
    none: [],
    bwrap: [],
    noneTls: [],
    bwrapTls: [],
  };
  let seq = 0;
  try {
    // Round 0 warms caches (transpiled wrapper, page cache, the agent
    // JVMs' first job) and is dropped.
    for (let r = 0; r <= rounds; r++) {
      const keep = r > 0;
      const add = <T>(list: T[], v: T) => keep && list.push(v);
      add(
        ours.none,
        await launchOurs(grid, none, workRoot, ++seq, caches.get(none)),
      );
      add(floor.deno, await elapsed([Deno.execPath(), "run", "-q", empty]));
      if (hasBwrap) {
        add(
          ours.bwrap,
          await launchOurs(grid, bwrap, workRoot, ++seq, caches.get(bwrap)),
        );
        add(floor.bwrapTrue, await elapsed([...bwrapPrefix([]), "/bin/true"]));
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
    await grid.close();
  }
  const floorDeno = summarize(floor.deno);
  const oursNone = ours.none.map((r) => r.payload);
  const oursBwrap = ours.bwrap.map((r) => r.payload);
  const rows: BenchRow[] = [
    row(
      "launch overhead, none: matched job → payload's first instruction",
      oursNone,
      floorDeno.median,
      FLOOR_FACTOR,
      `≤ ${FLOOR_FACTOR}× floor`,
      `floor = bare \`deno run\` of an empty script, ${
        describe(floorDeno, "ms")
      }; ${breakdown(ours.none)}`,
    ),
  ];
  if (hasBwrap) {
    const floorBwrap = summarize(floor.bwrapTrue);
    rows.push(row(
      "launch overhead, bwrap: matched job → payload's first instruction",
      oursBwrap,
      floorDeno.median + floorBwrap.median,
      FLOOR_FACTOR,
      `≤ ${FLOOR_FACTOR}× floor`,
      `floor = empty \`deno run\` + \`bwrap … /bin/true\` (${
        describe(floorBwrap, "ms")
      }); ${breakdown(ours.bwrap)}`,
    ));
  } else {
    rows.push({
      measure: "launch overhead, bwrap",
      ours: NaN,
      unit: "ms",
      note: `skipped: no ${bwrap.binary}`,
    });
  }
  if (!jvm) {
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
  const vs = (variant: JvmVariant, mine: number[], what: string) => {
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
  vs("none", oursNone, "none; wrapper JVM: exec only");
  if (hasBwrap) {
    vs("bwrap", oursBwrap, "bwrap; wrapper JVM: exec only");
  }
  vs(
    "noneTls",
    oursNone,
    "none; wrapper JVM: STARTED, RUNNING over mTLS, then exec (as ours)",
  );
  if (hasBwrap) {
    vs(
      "bwrapTls",
      oursBwrap,
      "bwrap; wrapper JVM: STARTED, RUNNING over mTLS, then exec (as ours)",
    );
  }
  return rows;
}

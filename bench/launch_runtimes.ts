/**
 * Wrapper launch overhead per container runtime, beside the floor
 * measured in the same run.
 *
 * ```sh
 * deno run -A bench/launch_runtimes.ts [--quick]
 * ```
 *
 * Ours: from the agent holding a matched job (real broker, mutual TLS) to
 * the payload's first instruction — what the agent does (sandbox, launch
 * argv, `prepareLaunch`, `runWrapper`), with the payload
 * `/bin/date +%s%N` as the end mark, so the wrapper's Deno start, hello,
 * start frame, STARTED/RUNNING reports and payload spawn are all inside.
 *
 * Floor, per runtime: a bare `deno run` of an empty script on the host
 * plus the same runtime launching `/bin/true` with the job's mounts
 * (`bwrap … /bin/true`, `podman run … --rootfs … /bin/true`). Runs of all
 * variants are interleaved round by round, so drift hits all alike.
 *
 * Rows: bwrap (host rootfs), bwrap (debootstrap image), podman (image),
 * none (pid-namespace reaper), and apptainer/singularity where installed.
 * Image rows need the cached image (`scripts/build_image.ts`, built on
 * first use). Goal: bwrap ≤ 1.5 × its floor.
 *
 * @module
 */
import { type MatchedJob, runWrapper } from "../src/agent/run_wrapper.ts";
import { probeRuntime } from "../src/agent/probe.ts";
import {
  buildLaunch,
  prepareLaunch,
  sourceWrapperProgram,
  type WrapperCache,
} from "../src/agent/wrapper_launch.ts";
import {
  type ContainerDriver,
  type LaunchSpec,
  PROGRAM_PATH,
} from "../src/container/driver.ts";
import { createDriver } from "../src/container/select.ts";
import { parseJdl } from "../src/jdl/mod.ts";
import { decodeJson, FrameType } from "../src/pipe/mod.ts";
import type { StatusMessage } from "../src/protocol/mod.ts";
import { payloadPrograms } from "../src/protocol/programs.ts";
import type { BenchRow } from "./bench_row.ts";
import { type BenchGrid, startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";
import { ensureImage } from "../scripts/build_image.ts";

/** Options of {@link benchRuntimes}. */
export interface BenchRuntimesOptions {
  /** Fewer rounds. @default false */
  quick?: boolean;
  /** Rounds (each launches every variant once). @default 3 quick, 10 full */
  rounds?: number;
}

/** Goal for bwrap: launch ≤ 1.5 × floor. */
const FLOOR_FACTOR = 1.5;
const JDL = `Executable = "/bin/date";\nArguments = "+%s%N";\nTTL = 60;\n`;
const SITE_MAP = {
  ce: "local::ce",
  site: "local",
  ttl: 3600,
  cpuCores: 1,
  memory: 0,
  disk: 0,
  packages: [],
};

/** One runtime configuration to measure. */
interface Variant {
  label: string;
  driver: ContainerDriver;
  image?: string;
  cache?: WrapperCache;
  ours: number[];
  started: number[];
  floorRt: number[];
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Spawn-to-exit time of `argv`, ms; throws if it fails. */
async function elapsed(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `${argv[0]} exited with ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return ms;
}

/** Milestones of one launch, ms after the agent held the job. */
interface Milestones {
  /** STARTED frame: container and Deno up, hello, start frame. */
  started: number;
  /** The payload's first instruction. */
  payload: number;
}

/** One launch of ours. */
async function launchOurs(
  grid: BenchGrid,
  v: Variant,
  workRoot: string,
  seq: number,
): Promise<Milestones> {
  await grid.submit(JDL);
  const job = await grid.agent.json<MatchedJob>("POST", "/api/v1/match", {
    ...SITE_MAP,
    containers: [v.driver.name],
  });
  if (!job) throw new Error("the broker matched no job for the runtime bench");
  const t0 = nowMs();
  const sandbox = `${workRoot}/job-${job.jobId}-${seq}`;
  await Deno.mkdir(sandbox, { mode: 0o700 });
  const jd = parseJdl(job.jdl);
  const launch = buildLaunch({
    driver: v.driver,
    program: sourceWrapperProgram(),
    sandbox,
    broker: grid.hostPort,
    payload: (workdir) => payloadPrograms(jd, workdir),
    image: v.image,
    denoDir: `${workRoot}/.deno`,
    wrapperCache: v.cache,
  });
  const hold = await prepareLaunch(v.driver, launch);
  let stamp: string | undefined;
  const lines: string[] = [];
  const at: Record<string, number> = {};
  try {
    const outcome = await runWrapper({
      job,
      launch,
      sandbox,
      broker: grid.agent,
      brokerUrl: grid.url,
      siteMap: { ...SITE_MAP, containers: [v.driver.name] },
      groupKill: !v.driver.capabilities.pidNamespace,
      log: (line) => {
        lines.push(line);
        const m = / stdout: (\d{16,})$/.exec(line);
        if (m && stamp === undefined) stamp = m[1];
      },
      onFrame: (frame) => {
        if (frame.type !== FrameType.Status) return;
        at[decodeJson<StatusMessage>(frame).state] ??= nowMs() - t0;
      },
    });
    if (outcome.state !== "DONE" || stamp === undefined) {
      throw new Error(
        `${v.label}: job ${job.jobId} ended ${outcome.state}: ${
          outcome.message ?? lines.slice(-5).join(" | ")
        }`,
      );
    }
  } finally {
    await hold.release();
  }
  // ns since the epoch does not fit a double exactly; µs does.
  const payload = Number(BigInt(stamp!) / 1000n) / 1000 - t0;
  return { started: at.STARTED, payload };
}

/** The runtime alone: the job's mounts, `/bin/true` instead of the wrapper. */
async function launchTrue(v: Variant, workRoot: string, seq: number) {
  const sandbox = `${workRoot}/true-${seq}`;
  await Deno.mkdir(sandbox, { mode: 0o700 });
  try {
    const relocates = v.driver.capabilities.relocates;
    const spec: LaunchSpec = {
      argv: ["/bin/true"],
      sandbox,
      image: v.image,
      binds: relocates
        ? [{ source: Deno.execPath(), target: `${PROGRAM_PATH}/deno` }]
        : [],
      env: { PATH: "/usr/bin:/bin" },
      network: "host",
      scratch: relocates ? [PROGRAM_PATH] : [],
    };
    await v.driver.prepare?.(spec);
    return await elapsed(v.driver.command(spec));
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
}

async function variants(log: (l: string) => void): Promise<Variant[]> {
  const out: Variant[] = [];
  const add = (
    label: string,
    name: Parameters<typeof createDriver>[0],
    image?: string,
  ) =>
    out.push({
      label,
      driver: createDriver(name),
      image,
      ours: [],
      started: [],
      floorRt: [],
    });
  if (exists("/usr/bin/bwrap")) add("bwrap (host rootfs)", "bwrap");
  let image: string | undefined;
  if (exists("/usr/sbin/debootstrap")) {
    try {
      image = (await ensureImage({ log })).dir;
    } catch (e) {
      log(`no image rows: ${(e as Error).message}`);
    }
  }
  if (image) {
    if (exists("/usr/bin/bwrap")) {
      add("bwrap (debootstrap image)", "bwrap", image);
    }
    if (exists("/usr/bin/podman")) {
      add("podman (debootstrap image)", "podman", image);
    }
    for (const rt of ["apptainer", "singularity"] as const) {
      if (exists(`/usr/bin/${rt}`)) add(`${rt} (debootstrap image)`, rt, image);
    }
  }
  if (exists("/usr/bin/setpriv") && exists("/usr/bin/unshare")) {
    add("none (setpriv + unshare reaper)", "none");
  }
  return out;
}

/** Runs the entry; see the module doc. */
export async function benchRuntimes(
  opts: BenchRuntimesOptions = {},
): Promise<BenchRow[]> {
  const rounds = opts.rounds ?? (opts.quick ? 3 : 10);
  const log = (l: string) => console.error(`[bench_runtimes] ${l}`);
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
  const deno: number[] = [];
  try {
    const vs = await variants(log);
    // As the agent does: the real probe, which also fills the wrapper cache.
    for (const v of vs) {
      const dir = `${workRoot}/.wrapper-cache/${v.label.replace(/\W+/g, "-")}`;
      const probe = await probeRuntime(v.driver, {
        program: sourceWrapperProgram(),
        workRoot,
        broker: grid.hostPort,
        image: v.image,
        cacheDir: dir,
      });
      if (!probe.ok) throw new Error(`${v.label}: ${probe.message}`);
      if (await Deno.stat(dir).then(() => true, () => false)) {
        v.cache = { mode: "use", dir };
      }
    }
    // One untimed round warms caches (page cache, podman's storage).
    let seq = 0;
    for (const v of vs) {
      await launchOurs(grid, v, workRoot, ++seq);
      await launchTrue(v, workRoot, ++seq);
    }
    await elapsed(denoEmpty);
    for (let r = 0; r < rounds; r++) {
      deno.push(await elapsed(denoEmpty));
      for (const v of vs) {
        v.floorRt.push(await launchTrue(v, workRoot, ++seq));
        const m = await launchOurs(grid, v, workRoot, ++seq);
        v.ours.push(m.payload);
        v.started.push(m.started);
      }
    }
    const d = summarize(deno).median;
    return vs.map((v) => {
      const ours = summarize(v.ours);
      const rt = summarize(v.floorRt).median;
      const floor = d + rt;
      const ratio = ours.median / floor;
      const bwrap = v.driver.name === "bwrap";
      const started = summarize(v.started).median;
      return {
        measure: `launch overhead, ${v.label}`,
        ours: round(ours.median),
        baseline: round(floor),
        unit: "ms",
        ratio: round(ratio),
        goal: bwrap ? `≤ ${FLOOR_FACTOR}× floor` : undefined,
        met: bwrap ? ratio <= FLOOR_FACTOR : undefined,
        note: `job held → payload exec: ${
          describe(ours, "ms")
        }; floor = deno run empty ${round(d)} ms + ${v.driver.name} /bin/true ${
          round(rt)
        } ms; medians: ${
          round(started)
        } ms to the STARTED frame (runtime, Deno, wrapper modules, hello, start frame), ${
          round(ours.median - started)
        } ms more to the payload's exec${
          v.cache ? "; warm wrapper cache" : ""
        }`,
      };
    });
  } finally {
    await grid.close();
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const rows = await benchRuntimes({ quick });
  for (const r of rows) {
    if (Deno.args.includes("--verbose")) console.log(r.note);
    console.log(
      `${r.measure.padEnd(52)} ${String(r.ours).padStart(7)} ms  floor ${
        String(r.baseline).padStart(6)
      } ms  ratio ${r.ratio}${
        r.goal ? `  goal ${r.goal} ${r.met ? "met" : "MISSED"}` : ""
      }`,
    );
  }
}

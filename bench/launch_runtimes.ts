/**
 * The runtime matrix of the launch benchmark ({@link ./launch.ts}): which
 * container runtimes this host has, one launch of ours through one of
 * them (the agent's path, from a held job to the payload's first
 * instruction), and the floor for it (the runtime alone starting
 * `/bin/true` with the job's mounts).
 *
 * Variants: none (pid-namespace reaper), bwrap (host rootfs), and with the
 * cached debootstrap image (`scripts/build_image.ts`, built on first use)
 * bwrap, podman, apptainer and singularity where installed, and docker
 * (the daemon `DOCKER_HOST` names, else a private one started for the run).
 *
 * @module
 */
import {
  type MatchedJob,
  runWrapper,
  type RunWrapperOptions,
  type WrapperOutcome,
} from "../src/agent/run_wrapper.ts";
import { probeRuntime } from "../src/agent/probe.ts";
import {
  buildLaunch,
  type Launch,
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
import type { BenchGrid } from "./_bench_grid.ts";
import { ensureImage } from "../scripts/build_image.ts";
import { DockerDriver } from "../src/container/docker.ts";
import {
  DOCKER_CLIENT,
  dockerInstalled,
  type PrivateDockerd,
  startPrivateDockerd,
} from "../scripts/private_dockerd.ts";

/** The bench job: its payload prints the wall clock in ns. */
export const JDL =
  `Executable = "/bin/date";\nArguments = "+%s%N";\nTTL = 60;\n`;
/** The site map the bench agent offers. */
export const SITE_MAP = {
  ce: "local::ce",
  site: "local",
  ttl: 3600,
  cpuCores: 1,
  memory: 0,
  disk: 0,
  packages: [],
};

/** One runtime configuration to measure, with its samples. */
export interface Variant {
  /** Row label, e.g. `bwrap (host rootfs)`. */
  label: string;
  /** The driver, as the agent would select it. */
  driver: ContainerDriver;
  /** Root filesystem image, for runtimes that need one. */
  image?: string;
  /** The warm wrapper cache the probe left, if the runtime relocates. */
  cache?: WrapperCache;
  /** Our launches. */
  ours: Milestones[];
  /** Our launches from a pre-started wrapper (none and bwrap only). */
  warm?: Milestones[];
  /** The runtime alone (`/bin/true`), ms. */
  floorRt: number[];
  /** Stops what the variant started for itself (a private dockerd). */
  close?: () => Promise<void>;
}

/** Wall clock in ms with sub-ms precision (comparable to the payload's). */
export function nowMs(): number {
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
export async function elapsed(argv: string[]): Promise<number> {
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

/** Milestones of one launch of ours, ms after the agent held the job. */
export interface Milestones {
  /** The wrapper's STARTED status frame arrived (Deno up, hello, start). */
  started: number;
  /** Its RUNNING frame arrived (after the STARTED broker call). */
  running: number;
  /** The payload's first instruction (after the RUNNING call and spawn). */
  payload: number;
}

/** Submits the bench job and matches it as an agent offering `runtime`. */
export async function matchOne(
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

/** One launch of ours through `v`, as the agent does it. */
export async function launchOurs(
  grid: BenchGrid,
  v: Variant,
  workRoot: string,
  seq: number,
  audit?: boolean,
): Promise<Milestones> {
  const job = await matchOne(grid, v.driver.name);
  // The agent holds the job from here on.
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
    audit,
  });
  const hold = await prepareLaunch(v.driver, launch);
  try {
    const { outcome, milestones } = await superviseTimed(grid, v, {
      job,
      t0,
      launch,
      sandbox,
    });
    if (audit !== undefined && audit !== (outcome.audit?.mode === "on")) {
      throw new Error(
        `${v.label}: audit ${audit} but verdict ${outcome.audit?.mode}`,
      );
    }
    return milestones;
  } finally {
    await hold.release();
  }
}

/**
 * Supervises one matched bench job's wrapper as the agent does, timing
 * its status frames and the payload's stamped first instruction from
 * `t0`; throws unless the job ends DONE with its stamp.
 */
export async function superviseTimed(
  grid: BenchGrid,
  v: Variant,
  run: {
    job: MatchedJob;
    t0: number;
    launch: Launch;
    sandbox: string;
    warm?: RunWrapperOptions["warm"];
  },
): Promise<{ outcome: WrapperOutcome; milestones: Milestones }> {
  const { job, t0 } = run;
  let stamp: string | undefined;
  const lines: string[] = [];
  const at: Record<string, number> = {};
  const outcome = await runWrapper({
    job,
    launch: run.launch,
    sandbox: run.sandbox,
    broker: grid.agent,
    brokerUrl: grid.url,
    siteMap: { ...SITE_MAP, containers: [v.driver.name] },
    groupKill: !v.driver.capabilities.pidNamespace,
    warm: run.warm,
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
      `${v.label}${
        run.warm ? " (warm)" : ""
      }: job ${job.jobId} ended ${outcome.state}: ${
        outcome.message ?? lines.slice(-5).join(" | ")
      }`,
    );
  }
  // ns since the epoch does not fit a double exactly; µs does.
  const payload = Number(BigInt(stamp) / 1000n) / 1000 - t0;
  return {
    outcome,
    milestones: { started: at.STARTED, running: at.RUNNING, payload },
  };
}

/** The runtime alone: the job's mounts, `/bin/true` instead of the wrapper. */
export async function launchTrue(v: Variant, workRoot: string, seq: number) {
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

/** The runtimes this host can run, none first. */
export async function runtimeVariants(
  log: (l: string) => void,
  opts: { images?: boolean } = {},
): Promise<Variant[]> {
  const out: Variant[] = [];
  const add = (
    label: string,
    name: Parameters<typeof createDriver>[0],
    image?: string,
    driver: ContainerDriver = createDriver(name),
  ) =>
    out.push({
      label,
      driver,
      image,
      ours: [],
      floorRt: [],
    });
  add("none", "none");
  if (exists("/usr/bin/bwrap")) add("bwrap (host rootfs)", "bwrap");
  let image: string | undefined;
  if ((opts.images ?? true) && exists("/usr/sbin/debootstrap")) {
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
      // Found on PATH (a build prefix, CVMFS), as the agent finds them.
      const d = createDriver(rt);
      if (d.binary?.startsWith("/")) {
        add(`${rt} (debootstrap image)`, rt, image, d);
      }
    }
    // docker: the daemon DOCKER_HOST names, else a private one
    // (scripts/private_dockerd.ts) with the same image imported, stopped
    // by the variant's close (floor: docker run --rm … /bin/true).
    const docker = await dockerVariant(image, log);
    if (docker) {
      add(docker.label, "docker", undefined, docker.driver);
      out[out.length - 1].close = docker.close;
    }
  }
  return out;
}

/**
 * The docker row's daemon: the one `DOCKER_HOST` names (assumed to have
 * the image as `splitpilot/default:latest`), or a private one started
 * here with `image` imported; none without docker.io.
 */
async function dockerVariant(
  image: string,
  log: (l: string) => void,
): Promise<
  | { label: string; driver: DockerDriver; close?: () => Promise<void> }
  | undefined
> {
  const host = Deno.env.get("DOCKER_HOST");
  if (host) {
    return {
      label: "docker (imported image)",
      driver: new DockerDriver({ host }),
    };
  }
  if (!dockerInstalled()) return undefined;
  let d: PrivateDockerd | undefined;
  try {
    d = await startPrivateDockerd();
    await d.importImage(image, "default");
  } catch (e) {
    await d?.stop();
    log(`no docker row: ${(e as Error).message}`);
    return undefined;
  }
  return {
    label: "docker (imported image, private dockerd)",
    driver: new DockerDriver({ host: d.host, binary: DOCKER_CLIENT }),
    close: d.stop,
  };
}

/**
 * Probes `v` as the agent does, which also fills the wrapper cache that
 * jobs in relocating runtimes start from; throws when the probe fails.
 */
export async function probeVariant(
  v: Variant,
  grid: BenchGrid,
  workRoot: string,
): Promise<void> {
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

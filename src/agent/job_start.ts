/**
 * Everything about one matched job before its wrapper starts: parse the
 * JDL, make the sandbox, compute the limits, pin the image, build and
 * prepare the launch, create the job's cgroup. Anything that throws here
 * (a JDL the broker should never have handed out, a full disk) fails
 * that job, never the agent.
 *
 * @module
 */
import { ContainerError } from "../container/driver.ts";
import { kernelLimits } from "../container/kernel_limits.ts";
import { ImageError, type ResolvedImage } from "../container/software_dir.ts";
import {
  JdlError,
  type JobDescription,
  parseJdl,
  type PayloadNetwork,
} from "../jdl/mod.ts";
import { jobNetwork } from "./network_policy.ts";
import { payloadPrograms } from "../protocol/programs.ts";
import { CgroupSampler } from "../watchdog/cgroup_sampler.ts";
import { type JobLimits, jobLimits } from "../watchdog/limits.ts";
import type { Sampler } from "../watchdog/sampler.ts";
import type { AgentOptions } from "./agent_options.ts";
import type { AgentRuntime } from "./agent_runtime.ts";
import { reportSetupFailure } from "./job_setup_failure.ts";
import type { MatchedJob } from "./matched_job.ts";
import type { ReportTarget } from "./report_outcome.ts";
import {
  buildLaunch,
  type Launch,
  type LaunchHold,
  prepareLaunch,
  type WrapperProgram,
} from "./wrapper_launch.ts";

/** Runtimes whose payloads get their own namespaces when not switched. */
const JAILED = new Set(["bwrap", "none"]);

/** A job ready for its wrapper. */
export interface StartedJob {
  /** The launch. */
  launch: Launch;
  /** Keeps what the launch prepared (released when the job ends). */
  hold: LaunchHold;
  /** The parsed JDL. */
  jd: JobDescription;
  /** The job's limits. */
  limits: JobLimits;
  /** The job's own cgroup (cgroup sampler). */
  cgroup?: string;
}

/** What {@link startJob} needs from the agent. */
export interface JobStartContext {
  /** Agent options. */
  opts: AgentOptions;
  /** The runtime. */
  runtime: AgentRuntime;
  /** The wrapper program. */
  program: WrapperProgram;
  /** Broker `host:port`. */
  brokerAddr: string;
  /** Slot cores. */
  cores: number;
  /** Wall time beyond the TTL before the TTL kill, s. */
  ttlGrace: number;
  /** The usage source. */
  sampler?: Sampler;
  /** Where a setup failure is reported. */
  reports: ReportTarget;
  /** Whether the agent relays the wrappers' broker calls. @default true */
  relay?: boolean;
  /** The site's payload network (`--payload-network`). @default "host" */
  netPolicy?: PayloadNetwork;
  /** The payload networks this agent offers. @default [netPolicy] */
  networks?: readonly PayloadNetwork[];
  /** Called when the failure is the runtime's (not the job's). */
  runtimeFailed: (reason: string) => void;
  /** Log sink. */
  log: (line: string) => void;
}

/**
 * Prepares `job` in `sandbox`; on failure reports the job as failed,
 * removes the sandbox and returns undefined.
 *
 * @example
 * ```ts ignore
 * const started = await startJob(ctx, job, `${workRoot}/job-${job.jobId}`);
 * if (started) await runWrapper({ job, launch: started.launch, ... });
 * ```
 */
export async function startJob(
  ctx: JobStartContext,
  job: MatchedJob,
  sandbox: string,
): Promise<StartedJob | undefined> {
  const { opts, runtime, log } = ctx;
  const { driver, softwareDir } = runtime;
  let hold: LaunchHold | undefined;
  try {
    const jd = parseJdl(job.jdl, { strict: false });
    await Deno.mkdir(sandbox, { mode: 0o700 });
    const limits = jobLimits(jd, {
      cores: ctx.cores,
      memory: opts.memory,
      disk: opts.disk,
      ttlGraceSeconds: ctx.ttlGrace,
      memoryFactor: opts.memoryFactor,
      lowCpuWindowSeconds: opts.lowCpuWindowSeconds,
      lowCpuFraction: opts.lowCpuFraction,
    });
    // Pin the image now: a `latest` switch must not move a running job.
    let image: ResolvedImage | undefined = runtime.defaultImage;
    if (jd.container !== undefined && driver.capabilities.directoryImages) {
      if (!softwareDir) {
        throw new ContainerError(
          `job wants image ${jd.container} but this agent has no software dir`,
        );
      }
      image = await softwareDir.resolve(jd.container);
    }
    const launch = buildLaunch({
      driver,
      program: ctx.program,
      sandbox,
      broker: ctx.brokerAddr,
      relay: ctx.relay ?? true,
      network: jobNetwork(
        jd,
        ctx.netPolicy ?? "host",
        ctx.networks ?? [ctx.netPolicy ?? "host"],
      ),
      payload: (workdir) => payloadPrograms(jd, workdir),
      image: driver.capabilities.directoryImages ? image?.dir : undefined,
      imageRef: jd.container ?? opts.image,
      software: runtime.software,
      denoDir: `${opts.workRoot}/.deno`,
      wrapperCache: runtime.wrapperCache,
      payloadUser: runtime.jobUser,
      payloadJail: !runtime.jobUser && JAILED.has(driver.name),
      resources: kernelLimits(limits),
      audit: opts.audit,
    });
    hold = await prepareLaunch(driver, launch);
    let cgroup: string | undefined;
    if (ctx.sampler instanceof CgroupSampler) {
      // The sampler moves the wrapper in when it starts watching it.
      cgroup = await ctx.sampler.createJobCgroup(`job-${job.jobId}`);
    }
    return { launch, hold, jd, limits, cgroup };
  } catch (e) {
    await hold?.release().catch(() => {});
    const reason = `wrapper not started: ${(e as Error).message}`;
    log(`job ${job.jobId}: ${reason}`);
    // A job naming an image we lack, or with a JDL we cannot read, is the
    // job's problem; a broken image or runtime is ours.
    const jobFault = (e instanceof ImageError && e.kind !== "broken") ||
      e instanceof JdlError;
    if (!jobFault) ctx.runtimeFailed(reason);
    await reportSetupFailure(ctx.reports, job, reason);
    await Deno.remove(sandbox, { recursive: true }).catch(() => {});
    return undefined;
  }
}

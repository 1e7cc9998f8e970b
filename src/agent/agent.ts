/**
 * The JobAgent: select a container runtime (probing it for real), then
 * match jobs while the slot has time left, running up to `cores` wrappers
 * at once.
 *
 * @module
 */
import { brokerAddresses } from "../client/broker_addresses.ts";
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import { tokenIdentity } from "../token/token_identity.ts";
import { CgroupSampler, probeCgroupV2 } from "../watchdog/cgroup_sampler.ts";
import { jobLimits } from "../watchdog/limits.ts";
import { kernelLimits } from "../container/kernel_limits.ts";
import { ProcfsSampler } from "../watchdog/procfs_sampler.ts";
import type { Sampler } from "../watchdog/sampler.ts";
import { ContainerError, type RuntimeName } from "../container/driver.ts";
import { RuntimeHealth } from "../container/health.ts";
import { selectRuntime } from "../container/select.ts";
import {
  type PayloadUser,
  payloadUserFor,
  runningAsRoot,
} from "../container/payload_user.ts";
import {
  ImageError,
  type ResolvedImage,
  SoftwareDir,
} from "../container/software_dir.ts";
import { JdlError, type JobDescription, parseJdl } from "../jdl/mod.ts";
import { ReportOutbox } from "./report_outbox.ts";
import { flushOutbox } from "./report_outcome.ts";
import { reportSetupFailure } from "./job_setup_failure.ts";
import { sweepSandboxes } from "./sandbox_sweeper.ts";
import { payloadPrograms } from "../protocol/programs.ts";
import { probeRuntime } from "./probe.ts";
import {
  type MatchedJob,
  runWrapper,
  type WrapperOutcome,
} from "./run_wrapper.ts";
import {
  buildLaunch,
  type LaunchHold,
  type LaunchSoftware,
  prepareLaunch,
  sourceWrapperProgram,
  type WrapperProgram,
} from "./wrapper_launch.ts";

/** Agent configuration (CLI flags map 1:1). */
export interface AgentOptions {
  /** Broker base URL, `https://host:port`. */
  broker: string;
  /** Directory with the agent token: cert.pem, key.pem, ca.pem. */
  tokenDir: string;
  /** Work root for sandboxes. */
  workRoot: string;
  /** `USE_CONTAINERS`. @default "auto" */
  containers?: RuntimeName | "auto";
  /** Runtime program overrides. @default {} */
  binaries?: Partial<Record<RuntimeName, string>>;
  /**
   * Software dir (CVMFS-like: `containers/<name>/latest`, `etc/setup.sh`).
   * @default `<workRoot>/software` when it exists
   */
  softwareDir?: string;
  /** Image for jobs without a JDL `Container`. @default "default" */
  image?: string;
  /** Wrapper start failures in a row that stop the agent. @default 3 */
  maxStartFailures?: number;
  /** Cores of the slot. @default 1 */
  cores?: number;
  /** Slot lifetime, s. @default 86400 */
  ttl?: number;
  /** Memory of the slot, bytes (0 = unknown). @default 0 */
  memory?: number;
  /** Disk of the slot, bytes (0 = unknown). @default 0 */
  disk?: number;
  /** Site name. @default "local" */
  site?: string;
  /** CE name. @default "local::ce" */
  ce?: string;
  /** Packages the site provides. @default [] */
  packages?: string[];
  /**
   * Other site attributes for `other.X` in Requirements (`--attr`), e.g.
   * `{ GridPartitions: ["quickreco"], Price: 1 }`. The broker adds
   * `Type: "machine"` when absent. @default {}
   */
  attributes?: Record<string, string | number | string[]>;
  /** Keep polling when the queue is empty. @default false */
  wait?: boolean;
  /** Consecutive empty matches (while idle) before exiting. @default 3 */
  maxEmpty?: number;
  /** Heartbeat interval, s. @default 60 */
  heartbeatSeconds?: number;
  /** Interval of the cheap kill check, s (0: heartbeat only). @default 2 */
  killCheckSeconds?: number;
  /** Watchdog sampling interval, s. @default 5 */
  sampleSeconds?: number;
  /**
   * Usage source: `auto` takes cgroup v2 where the slot has a usable cgroup
   * of its own, else procfs; `off` enforces no limits. @default "auto"
   */
  sampler?: "auto" | "procfs" | "cgroup" | "off";
  /** Wall time a job gets beyond its TTL before the TTL kill, s. @default 60 */
  ttlGraceSeconds?: number;
  /** Grace after `cancel` before SIGTERM to the tree, s. @default 10 */
  killGraceSeconds?: number;
  /** Memory kill threshold as a multiple of the limit. @default 1.2 */
  memoryFactor?: number;
  /** Window without CPU progress that kills a job, s (0 = off). @default 3600 */
  lowCpuWindowSeconds?: number;
  /** CPU s per wall s below which the window counts as idle. @default 0.01 */
  lowCpuFraction?: number;
  /**
   * Safety margin, s: subtracted from the time left (slot TTL, and agent
   * token lifetime minus the margin again) before matching. @default 60
   */
  marginSeconds?: number;
  /** The wrapper program. @default this checkout's wrapper.ts */
  program?: WrapperProgram;
  /** Payload user (bwrap/none as root, podman). @default nobody 65534:65534 */
  payloadUser?: PayloadUser;
  /** Let `auto` fall back to `none` (no container). @default false */
  allowNoContainer?: boolean;
  /** Log sink. @default stderr */
  log?: (line: string) => void;
  /** Aborted on preemption (SIGTERM/SIGINT). */
  signal?: AbortSignal;
}

/** Summary of an agent run. */
export interface AgentReport {
  /** Runtime used. */
  runtime: RuntimeName;
  /** Usage source (`procfs`, `cgroup` or `off`). */
  sampler: string;
  /** One entry per job run. */
  jobs: { jobId: string; outcome: WrapperOutcome }[];
}

let sandboxSeq = 0;

/** Runtimes whose payloads get their own namespaces when not switched. */
const JAILED = new Set(["bwrap", "none"]);

function brokerHostPort(url: string): string {
  // Every replica in the list: the wrapper may fail over to any of them.
  return brokerAddresses(url);
}

/**
 * Seconds the agent may still promise a job: the slot's end and the agent
 * token's `notAfter` (less the margin: heartbeats need a valid token), less
 * the margin.
 */
export function timeLeftSeconds(
  now: number,
  slotDeadline: number,
  tokenNotAfter: number,
  marginSeconds: number,
): number {
  const slot = (slotDeadline - now) / 1000;
  const token = (tokenNotAfter - now) / 1000 - marginSeconds;
  return Math.floor(Math.min(slot, token) - marginSeconds);
}

async function startSampler(
  kind: NonNullable<AgentOptions["sampler"]>,
  log: (line: string) => void,
): Promise<Sampler | undefined> {
  if (kind === "off") return undefined;
  if (kind !== "procfs") {
    const probe = await probeCgroupV2().catch((e) => ({
      usable: false,
      reason: (e as Error).message,
      slotDir: undefined,
    }));
    if (probe.usable) {
      log(`watchdog: ${probe.reason}`);
      return new CgroupSampler(probe.slotDir!);
    }
    if (kind === "cgroup") {
      throw new Error(`--sampler cgroup: ${probe.reason}`);
    }
    log(`watchdog: no cgroup v2 of our own (${probe.reason}); sampling procfs`);
  }
  try {
    return await ProcfsSampler.start();
  } catch (e) {
    if (kind === "procfs") throw e;
    // Jobs still run (and still die with their launcher), but nothing
    // enforces their limits: say so loudly rather than refuse the slot.
    log(
      `watchdog DISABLED: cannot start the procfs sampler (${
        (e as Error).message
      }); job limits are not enforced`,
    );
    return undefined;
  }
}

/** One log line for a job's end: state, exit, kill reason, usage. */
export function describeOutcome(o: WrapperOutcome): string {
  const u = o.usage;
  const use = u
    ? ` [cpu ${u.cpuSeconds.toFixed(1)} s, max PSS ${
      ((u.maxRssBytes ?? 0) / 2 ** 20).toFixed(1)
    } MB, wall ${u.wallSeconds.toFixed(1)} s, disk ${
      (u.diskBytes / 2 ** 20).toFixed(1)
    } MB]`
    : "";
  return `${o.state} (exit ${o.exitCode}${
    o.killReason !== undefined ? `, kill reason ${o.killReason}` : ""
  })${o.message ? `: ${o.message}` : ""}${use}`;
}

/**
 * Runs the agent until the queue is empty (or forever with `wait`): probes
 * the container runtime, then matches jobs that fit the slot's time and
 * cores and runs up to `cores` wrappers at once, each through
 * {@link runWrapper}.
 *
 * @example
 * ```ts ignore
 * import { runAgent } from "./agent.ts";
 * const report = await runAgent({
 *   broker: "https://127.0.0.1:8443",
 *   tokenDir: "/var/lib/splitpilot/agent-token", // cert.pem, key.pem, ca.pem
 *   workRoot: "/scratch/pilot",
 *   containers: "auto",
 *   cores: 8,
 *   ttl: 86_400,
 * });
 * for (const { jobId, outcome } of report.jobs) {
 *   console.log(jobId, outcome.state);
 * }
 * ```
 */
export async function runAgent(opts: AgentOptions): Promise<AgentReport> {
  const log = opts.log ?? ((l: string) => console.error(`[agent] ${l}`));
  const program = opts.program ?? sourceWrapperProgram();
  const brokerAddr = brokerHostPort(opts.broker);
  await Deno.mkdir(opts.workRoot, { recursive: true });
  const softwareRoot = opts.softwareDir ??
    await Deno.stat(`${opts.workRoot}/software`).then(
      (s) => s.isDirectory ? `${opts.workRoot}/software` : undefined,
      () => undefined,
    );
  const softwareDir = softwareRoot
    ? new SoftwareDir(softwareRoot, { defaultImage: opts.image })
    : undefined;
  const software: LaunchSoftware | undefined = softwareDir && {
    root: softwareDir.root,
    setup: await softwareDir.hasSetup(),
  };
  const defaultImage = await softwareDir?.resolve(
    opts.image === undefined ? undefined : softwareDir.defaultImage,
  );
  if (softwareDir) {
    log(
      `software dir: ${softwareDir.root} (setup script: ${
        software!.setup ? "yes" : "no"
      }, default image: ${defaultImage?.dir ?? "none, host rootfs"})`,
    );
  }
  const asRoot = await runningAsRoot(opts.workRoot);
  const payloadUser = (d: { name: string }) =>
    payloadUserFor(d.name, { asRoot, user: opts.payloadUser });
  const { driver, probes } = await selectRuntime(opts.containers ?? "auto", {
    binaries: opts.binaries,
    allowNoContainer: opts.allowNoContainer,
    probe: (d) =>
      probeRuntime(d, {
        program,
        workRoot: opts.workRoot,
        broker: brokerAddr,
        image: defaultImage?.dir,
        software,
        cacheDir: `${opts.workRoot}/.wrapper-cache/${d.name}`,
        payloadUser,
      }),
  });
  for (const p of probes) {
    log(`probe ${p.name}: ${p.result.message} (${p.result.ms.toFixed(0)} ms)`);
  }
  const jobUser = payloadUser(driver);
  log(
    `container runtime: ${driver.name}${
      jobUser ? ` (payload as uid ${jobUser.uid}:${jobUser.gid})` : ""
    }`,
  );
  const health = new RuntimeHealth({ maxFailures: opts.maxStartFailures });
  const cacheDir = `${opts.workRoot}/.wrapper-cache/${driver.name}`;
  const wrapperCache = await Deno.stat(cacheDir).then(
    () => ({ mode: "use" as const, dir: cacheDir }),
    () => undefined,
  );
  // Sandboxes of agents that died on this work root: their processes are
  // killed and their directories removed before we add our own.
  await sweepSandboxes(opts.workRoot, { log });
  const token = await readTokenDir(opts.tokenDir);
  const tokenNotAfter = tokenIdentity(token.certPem).notAfter.getTime();
  const sampler = await startSampler(opts.sampler ?? "auto", log);
  const broker = new BrokerClient(opts.broker, token);
  const outbox = new ReportOutbox(`${opts.workRoot}/outbox`);
  const reports = { broker, outbox, log };
  // Outcomes an earlier agent here persisted but never got acknowledged.
  const flushed = flushOutbox(reports).catch((e) =>
    log(`outbox: ${(e as Error).message}`)
  );
  const cores = opts.cores ?? 1;
  const deadline = Date.now() + (opts.ttl ?? 86400) * 1000;
  const margin = opts.marginSeconds ?? 60;
  const ttlGrace = opts.ttlGraceSeconds ?? 60;
  const killGraceMs = (opts.killGraceSeconds ?? 10) * 1000;
  const maxEmpty = opts.maxEmpty ?? 3;
  const report: AgentReport = {
    runtime: driver.name,
    sampler: sampler?.name ?? "off",
    jobs: [],
  };
  const running = new Map<string, { cores: number; done: Promise<void> }>();
  let empty = 0;
  let backoff = 500;
  const aborted = opts.signal
    ? new Promise((r) =>
      opts.signal!.addEventListener("abort", r, { once: true })
    )
    : undefined;
  try {
    let matchKey: string | undefined;
    while (!opts.signal?.aborted) {
      if (!health.healthy) {
        log(
          `runtime ${driver.name} is unhealthy, not matching: ${health.reason}`,
        );
        break;
      }
      const used = [...running.values()].reduce((a, r) => a + r.cores, 0);
      const free = cores - used;
      const timeLeft = timeLeftSeconds(
        Date.now(),
        deadline,
        tokenNotAfter,
        margin,
      );
      // A job may run its TTL plus the grace before it is killed.
      const jobTime = timeLeft - ttlGrace;
      if (jobTime <= 0 && running.size === 0) {
        log(`slot time is up (${timeLeft} s left)`);
        break;
      }
      let job: MatchedJob | undefined;
      if (free > 0 && jobTime > 0) {
        const siteMap = {
          ce: opts.ce ?? "local::ce",
          site: opts.site ?? "local",
          ttl: jobTime,
          cpuCores: free,
          memory: opts.memory ?? 0,
          disk: opts.disk ?? 0,
          packages: opts.packages ?? [],
          containers: [driver.name],
          attributes: opts.attributes ?? {},
        };
        try {
          // The key stays until an answer arrives: a match whose answer
          // was lost is asked for again, never left ASSIGNED to nobody.
          matchKey ??= crypto.randomUUID();
          job = await broker.match<MatchedJob>(siteMap, matchKey);
          matchKey = undefined;
        } catch (e) {
          // Answered (4xx/5xx): that request is over; unreachable: repeat it.
          if ((e as { status?: number }).status !== 0) matchKey = undefined;
          log(`match failed: ${(e as Error).message}`);
        }
        if (job) {
          empty = 0;
          backoff = 500;
          const sandbox =
            `${opts.workRoot}/job-${job.jobId}-${Deno.pid}-${++sandboxSeq}`;
          let launch;
          let hold: LaunchHold | undefined;
          let jd!: JobDescription;
          let cgroup: string | undefined;
          let limits!: ReturnType<typeof jobLimits>;
          try {
            // Anything about one job that throws here (a JDL the broker
            // should never have handed out, a full disk) fails that job,
            // never the agent.
            jd = parseJdl(job.jdl, { strict: false });
            await Deno.mkdir(sandbox, { mode: 0o700 });
            limits = jobLimits(jd, {
              cores,
              memory: opts.memory,
              disk: opts.disk,
              ttlGraceSeconds: ttlGrace,
              memoryFactor: opts.memoryFactor,
              lowCpuWindowSeconds: opts.lowCpuWindowSeconds,
              lowCpuFraction: opts.lowCpuFraction,
            });
            // Pin the image now: a `latest` switch must not move a running job.
            let image: ResolvedImage | undefined = defaultImage;
            if (
              jd.container !== undefined && driver.capabilities.directoryImages
            ) {
              if (!softwareDir) {
                throw new ContainerError(
                  `job wants image ${jd.container} but this agent has no software dir`,
                );
              }
              image = await softwareDir.resolve(jd.container);
            }
            launch = buildLaunch({
              driver,
              program,
              sandbox,
              broker: brokerAddr,
              payload: (workdir) => payloadPrograms(jd, workdir),
              image: driver.capabilities.directoryImages
                ? image?.dir
                : undefined,
              imageRef: jd.container ?? opts.image,
              software,
              denoDir: `${opts.workRoot}/.deno`,
              wrapperCache,
              payloadUser: jobUser,
              payloadJail: !jobUser && JAILED.has(driver.name),
              resources: kernelLimits(limits),
            });
            hold = await prepareLaunch(driver, launch);
            if (sampler instanceof CgroupSampler) {
              // The sampler moves the wrapper in when it starts watching it.
              cgroup = await sampler.createJobCgroup(`job-${job.jobId}`);
            }
          } catch (e) {
            await hold?.release().catch(() => {});
            const reason = `wrapper not started: ${(e as Error).message}`;
            log(`job ${job.jobId}: ${reason}`);
            // A job naming an image we lack, or with a JDL we cannot read,
            // is the job's problem; a broken image or runtime is ours.
            const jobFault = (e instanceof ImageError && e.kind !== "broken") ||
              e instanceof JdlError;
            if (!jobFault) health.failed(reason);
            await reportSetupFailure(reports, job, reason);
            await Deno.remove(sandbox, { recursive: true }).catch(() => {});
            continue;
          }
          log(
            `job ${job.jobId}: matched (${jd.cpuCores} core(s)), starting wrapper in ${driver.name}`,
          );
          const m = job;
          const release = hold;
          const done = runWrapper({
            job: m,
            launch,
            sandbox,
            broker,
            brokerUrl: opts.broker,
            siteMap,
            heartbeatSeconds: opts.heartbeatSeconds,
            killCheckSeconds: opts.killCheckSeconds,
            groupKill: !driver.capabilities.pidNamespace,
            sampler,
            limits,
            cgroup,
            sampleIntervalMs: (opts.sampleSeconds ?? 5) * 1000,
            cancelGraceMs: killGraceMs,
            termGraceMs: Math.max(1000, killGraceMs / 2),
            log,
            outbox,
            signal: opts.signal,
          }).then((outcome) => {
            log(`job ${m.jobId}: ${describeOutcome(outcome)}`);
            report.jobs.push({ jobId: m.jobId, outcome });
            // ERROR_A: the wrapper did not get the job going, which is the
            // runtime's, the image's or the setup script's fault.
            if (outcome.state === "ERROR_A") {
              health.failed(outcome.message ?? "wrapper did not start");
            } else health.started();
          }).finally(() => {
            running.delete(m.jobId);
            return release.release();
          });
          running.set(m.jobId, {
            cores: Math.max(1, Math.min(jd.cpuCores, free)),
            done,
          });
          continue;
        }
      }
      if (free > 0 && running.size === 0) {
        empty++;
        if (!opts.wait && empty >= maxEmpty) {
          log(`no job matched ${empty} time(s) in a row; exiting`);
          break;
        }
      }
      // Sleep only when nothing can start now: until a job ends, or the
      // backoff passes if a core is free.
      const waits: Promise<unknown>[] = [...running.values()].map((r) =>
        r.done
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      let slept = false;
      if (free > 0 || running.size === 0) {
        waits.push(
          new Promise((r) =>
            timer = setTimeout(() => r(slept = true), backoff)
          ),
        );
      }
      if (aborted) waits.push(aborted);
      await Promise.race(waits);
      clearTimeout(timer);
      // Empty matches back off, also while jobs run on the other cores.
      if (slept) backoff = Math.min(backoff * 2, 30000);
    }
    if (opts.signal?.aborted && running.size > 0) {
      log(`preempted: stopping ${running.size} job(s)`);
    }
    await Promise.all([...running.values()].map((r) => r.done));
    await flushed;
  } finally {
    broker.close();
    await sampler?.close();
  }
  if (!health.healthy) {
    throw new ContainerError(
      `container runtime ${driver.name} marked unhealthy: ${health.reason}`,
    );
  }
  return report;
}

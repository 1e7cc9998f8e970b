/**
 * The JobAgent: select a container runtime (probing it for real), then
 * match jobs while the slot has time left, running up to `cores` wrappers
 * at once.
 *
 * @module
 */
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import { tokenIdentity } from "../token/token_identity.ts";
import { CgroupSampler, probeCgroupV2 } from "../watchdog/cgroup_sampler.ts";
import { jobLimits } from "../watchdog/limits.ts";
import { ProcfsSampler } from "../watchdog/procfs_sampler.ts";
import type { Sampler } from "../watchdog/sampler.ts";
import { ContainerError, type RuntimeName } from "../container/driver.ts";
import { RuntimeHealth } from "../container/health.ts";
import { selectRuntime } from "../container/select.ts";
import {
  ImageError,
  type ResolvedImage,
  SoftwareDir,
} from "../container/software_dir.ts";
import { parseJdl } from "../jdl/mod.ts";
import { payloadPrograms } from "../wrapper/executable.ts";
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

function brokerHostPort(url: string): string {
  const u = new URL(url);
  if (u.protocol !== "https:") {
    throw new TypeError(`--broker ${url}: expected an https:// URL`);
  }
  return `${u.hostname}:${u.port || "443"}`;
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

/** Runs the agent until the queue is empty (or forever with `wait`). */
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
  const { driver, probes } = await selectRuntime(opts.containers ?? "auto", {
    binaries: opts.binaries,
    probe: (d) =>
      probeRuntime(d, {
        program,
        workRoot: opts.workRoot,
        broker: brokerAddr,
        image: defaultImage?.dir,
        software,
        cacheDir: `${opts.workRoot}/.wrapper-cache/${d.name}`,
      }),
  });
  for (const p of probes) {
    log(`probe ${p.name}: ${p.result.message} (${p.result.ms.toFixed(0)} ms)`);
  }
  log(`container runtime: ${driver.name}`);
  const health = new RuntimeHealth({ maxFailures: opts.maxStartFailures });
  const cacheDir = `${opts.workRoot}/.wrapper-cache/${driver.name}`;
  const wrapperCache = await Deno.stat(cacheDir).then(
    () => ({ mode: "use" as const, dir: cacheDir }),
    () => undefined,
  );
  const token = await readTokenDir(opts.tokenDir);
  const tokenNotAfter = tokenIdentity(token.certPem).notAfter.getTime();
  const sampler = await startSampler(opts.sampler ?? "auto", log);
  const broker = new BrokerClient(opts.broker, token);
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
          job = await broker.json<MatchedJob>("POST", "/api/v1/match", siteMap);
        } catch (e) {
          log(`match failed: ${(e as Error).message}`);
        }
        if (job) {
          empty = 0;
          backoff = 500;
          const jd = parseJdl(job.jdl, { strict: false });
          const sandbox =
            `${opts.workRoot}/job-${job.jobId}-${Deno.pid}-${++sandboxSeq}`;
          await Deno.mkdir(sandbox, { mode: 0o700 });
          let launch;
          let hold: LaunchHold;
          try {
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
              imageRef: jd.container,
              software,
              denoDir: `${opts.workRoot}/.deno`,
              wrapperCache,
            });
            hold = await prepareLaunch(driver, launch);
          } catch (e) {
            const reason = `wrapper not started: ${(e as Error).message}`;
            log(`job ${job.jobId}: ${reason}`);
            // A job naming an image we lack is the job's problem; a broken
            // image or runtime is ours.
            const jobFault = e instanceof ImageError && e.kind !== "broken";
            if (!jobFault) health.failed(reason);
            await broker.json("POST", `/api/v1/jobs/${job.jobId}/status`, {
              state: "ERROR_A",
              message: reason,
            }).catch((err) =>
              log(`job ${job!.jobId}: could not report ERROR_A: ${err.message}`)
            );
            await Deno.remove(sandbox, { recursive: true }).catch(() => {});
            continue;
          }
          let cgroup: string | undefined;
          if (sampler instanceof CgroupSampler) {
            cgroup = await sampler.createJobCgroup(`job-${job.jobId}`);
            launch.argv = [...sampler.joinPrefix(cgroup), ...launch.argv];
          }
          const limits = jobLimits(jd, {
            cores,
            memory: opts.memory,
            disk: opts.disk,
            ttlGraceSeconds: ttlGrace,
            memoryFactor: opts.memoryFactor,
            lowCpuWindowSeconds: opts.lowCpuWindowSeconds,
            lowCpuFraction: opts.lowCpuFraction,
          });
          log(
            `job ${job.jobId}: matched (${jd.cpuCores} core(s)), starting wrapper in ${driver.name}`,
          );
          const m = job;
          const done = runWrapper({
            job: m,
            launch,
            sandbox,
            broker,
            brokerUrl: opts.broker,
            siteMap,
            heartbeatSeconds: opts.heartbeatSeconds,
            groupKill: !driver.capabilities.pidNamespace,
            sampler,
            limits,
            cgroup,
            sampleIntervalMs: (opts.sampleSeconds ?? 5) * 1000,
            cancelGraceMs: killGraceMs,
            termGraceMs: Math.max(1000, killGraceMs / 2),
            log,
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
            return hold.release();
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

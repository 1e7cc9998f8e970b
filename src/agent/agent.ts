/**
 * The JobAgent: select a container runtime (probing it for real), then
 * match jobs while the slot has time left, running up to `cores` wrappers
 * at once. Setting up the runtime is {@link ./agent_runtime.ts}, getting
 * one job ready {@link ./job_start.ts}, running it
 * {@link ./run_wrapper.ts}.
 *
 * @module
 */
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import { tokenIdentity } from "../token/token_identity.ts";
import { ContainerError } from "../container/driver.ts";
import { RuntimeHealth } from "../container/health.ts";
import { ReportOutbox } from "./report_outbox.ts";
import { flushOutbox } from "./report_outcome.ts";
import { sweepSandboxes } from "./sandbox_sweeper.ts";
import type { MatchedJob } from "./matched_job.ts";
import { runWrapper } from "./run_wrapper.ts";
import { sourceWrapperProgram } from "./wrapper_launch.ts";
import type { AgentOptions, AgentReport } from "./agent_options.ts";
import { setUpRuntime } from "./agent_runtime.ts";
import { describeOutcome } from "./describe_outcome.ts";
import { startJob } from "./job_start.ts";
import { brokerHostPort, timeLeftSeconds } from "./slot_time.ts";
import { startSampler } from "./start_sampler.ts";
import { offeredPayloadNetworks } from "./network_policy.ts";

export type { AgentOptions, AgentReport };
export { describeOutcome, timeLeftSeconds };

let sandboxSeq = 0;

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
  const runtime = await setUpRuntime(opts, program, brokerAddr, log);
  const { driver } = runtime;
  const netPolicy = opts.payloadNetwork ?? "host";
  const networks = offeredPayloadNetworks(netPolicy, driver);
  const relay = (opts.wrapperNet ?? "relay") === "relay";
  log(
    `payload network: ${netPolicy} by default, offering ${
      networks.join(", ")
    }; wrapper broker calls ${relay ? "relayed by the agent" : "direct"}`,
  );
  const health = new RuntimeHealth({ maxFailures: opts.maxStartFailures });
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
  const starts = {
    opts,
    runtime,
    program,
    brokerAddr,
    cores,
    ttlGrace,
    sampler,
    reports,
    relay,
    netPolicy,
    networks,
    runtimeFailed: (reason: string) => health.failed(reason),
    log,
  };
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
          payloadNetworks: networks,
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
          const started = await startJob(starts, job, sandbox);
          if (!started) continue;
          const { jd } = started;
          log(
            `job ${job.jobId}: matched (${jd.cpuCores} core(s)), starting wrapper in ${driver.name}`,
          );
          const m = job;
          const done = runWrapper({
            job: m,
            launch: started.launch,
            sandbox,
            broker,
            brokerUrl: opts.broker,
            relay,
            siteMap,
            heartbeatSeconds: opts.heartbeatSeconds,
            killCheckSeconds: opts.killCheckSeconds,
            groupKill: !driver.capabilities.pidNamespace,
            sampler,
            limits: started.limits,
            cgroup: started.cgroup,
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
            return started.hold.release();
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

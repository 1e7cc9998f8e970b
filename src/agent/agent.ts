/**
 * The JobAgent: select a container runtime (probing it for real), then
 * match jobs while the slot has time left, running up to `cores` wrappers
 * at once.
 *
 * @module
 */
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import type { RuntimeName } from "../container/driver.ts";
import { selectRuntime } from "../container/select.ts";
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
  /** Keep polling when the queue is empty. @default false */
  wait?: boolean;
  /** Consecutive empty matches (while idle) before exiting. @default 3 */
  maxEmpty?: number;
  /** Heartbeat interval, s. @default 60 */
  heartbeatSeconds?: number;
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

/** Runs the agent until the queue is empty (or forever with `wait`). */
export async function runAgent(opts: AgentOptions): Promise<AgentReport> {
  const log = opts.log ?? ((l: string) => console.error(`[agent] ${l}`));
  const program = opts.program ?? sourceWrapperProgram();
  const brokerAddr = brokerHostPort(opts.broker);
  await Deno.mkdir(opts.workRoot, { recursive: true });
  const { driver, probes } = await selectRuntime(opts.containers ?? "auto", {
    binaries: opts.binaries,
    probe: (d) =>
      probeRuntime(d, { program, workRoot: opts.workRoot, broker: brokerAddr }),
  });
  for (const p of probes) {
    log(`probe ${p.name}: ${p.result.message} (${p.result.ms.toFixed(0)} ms)`);
  }
  log(`container runtime: ${driver.name}`);
  const token = await readTokenDir(opts.tokenDir);
  const broker = new BrokerClient(opts.broker, token);
  const cores = opts.cores ?? 1;
  const deadline = Date.now() + (opts.ttl ?? 86400) * 1000;
  const maxEmpty = opts.maxEmpty ?? 3;
  const report: AgentReport = { runtime: driver.name, jobs: [] };
  const running = new Map<string, { cores: number; done: Promise<void> }>();
  let empty = 0;
  let backoff = 500;
  try {
    while (!opts.signal?.aborted) {
      const used = [...running.values()].reduce((a, r) => a + r.cores, 0);
      const free = cores - used;
      const timeLeft = Math.floor((deadline - Date.now()) / 1000) - 60;
      if (timeLeft <= 0 && running.size === 0) {
        log("slot time is up");
        break;
      }
      let job: MatchedJob | undefined;
      if (free > 0 && timeLeft > 0) {
        const siteMap = {
          ce: opts.ce ?? "local::ce",
          site: opts.site ?? "local",
          ttl: timeLeft,
          cpuCores: free,
          memory: opts.memory ?? 0,
          disk: opts.disk ?? 0,
          packages: opts.packages ?? [],
          containers: [driver.name],
        };
        try {
          job = await broker.json<MatchedJob>("POST", "/api/v1/match", siteMap);
        } catch (e) {
          log(`match failed: ${(e as Error).message}`);
        }
        if (job) {
          empty = 0;
          backoff = 500;
          const jd = parseJdl(job.jdl);
          const sandbox =
            `${opts.workRoot}/job-${job.jobId}-${Deno.pid}-${++sandboxSeq}`;
          await Deno.mkdir(sandbox, { mode: 0o700 });
          const launch = buildLaunch({
            driver,
            program,
            sandbox,
            broker: brokerAddr,
            payload: (workdir) => payloadPrograms(jd, workdir),
            denoDir: `${opts.workRoot}/.deno`,
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
            log,
            signal: opts.signal,
          }).then((outcome) => {
            log(
              `job ${m.jobId}: ${outcome.state} (exit ${outcome.exitCode})${
                outcome.message ? `: ${outcome.message}` : ""
              }`,
            );
            report.jobs.push({ jobId: m.jobId, outcome });
          }).finally(() => running.delete(m.jobId));
          running.set(m.jobId, {
            cores: Math.max(1, Math.min(jd.cpuCores, free)),
            done,
          });
          continue;
        }
      }
      if (running.size === 0) {
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
      if (free > 0 || running.size === 0) {
        waits.push(new Promise((r) => timer = setTimeout(r, backoff)));
      }
      await Promise.race(waits);
      clearTimeout(timer);
      if (running.size === 0) backoff = Math.min(backoff * 2, 30000);
    }
    await Promise.all([...running.values()].map((r) => r.done));
  } finally {
    broker.close();
  }
  return report;
}

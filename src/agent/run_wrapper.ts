/**
 * Runs one matched job through a wrapper process: spawn
 * ({@link ./wrapper_process.ts}), `hello`, `start`, frames until `end`
 * ({@link ./wrapper_conversation.ts}); meanwhile the watchdog samples the
 * wrapper's process tree against the job's limits, heartbeats carry its
 * usage to the broker ({@link ./heartbeat_loop.ts}), and a kill (limit,
 * user, preemption) runs the one kill sequence
 * ({@link ./kill_sequence.ts}). At the end the agent decides the outcome
 * ({@link ./wrapper_outcome.ts}), reports what the wrapper could not
 * (kills, deaths) with the usage summary ({@link ./report_outcome.ts}),
 * and removes the sandbox.
 *
 * @module
 */
import { brokerUrls } from "../client/broker_addresses.ts";
import type { BrokerClient } from "../client/broker_client.ts";
import type { Usage } from "../protocol/usage.ts";
import { isActive } from "../protocol/job_state.ts";
import { type Frame, FrameType, FrameWriter, readFrames } from "../pipe/mod.ts";
import type { JobLimits } from "../watchdog/limits.ts";
import type { Sampler } from "../watchdog/sampler.ts";
import { Watchdog } from "../watchdog/watchdog.ts";
import type { Launch } from "./wrapper_launch.ts";
import { escapeControl } from "./log_escape.ts";
import { OOM_CHECK_ENV, oomOutcome } from "../container/oom_check.ts";
import { type ForwardedLine, LogForwarder } from "./log_forwarder.ts";
import type { WarmWrapper } from "./warm_pool.ts";
import type { ReportOutbox } from "./report_outbox.ts";
import {
  brokerKillMessage,
  KILL_CHECK_SECONDS,
  watchForKill,
} from "./kill_watch.ts";
import { reportOutcome } from "./report_outcome.ts";
import type { MatchedJob, StopRequest } from "./matched_job.ts";
import { capped } from "./capped.ts";
import { KillSequence } from "./kill_sequence.ts";
import { HeartbeatLoop } from "./heartbeat_loop.ts";
import { converse } from "./wrapper_conversation.ts";
import {
  deathState,
  decideOutcome,
  type WrapperOutcome,
} from "./wrapper_outcome.ts";
import { spawnWrapper, type WrapperProcess } from "./wrapper_process.ts";
import { auditSummaryLine } from "../protocol/audit_verdict.ts";
import { RelayServer } from "./relay_server.ts";

export { deathState };

/**
 * How long a job may sit in SAVING before the agent sends the payload's
 * final usage in a heartbeat of its own; a job that ends sooner gets it in
 * its final report.
 */
const SAVING_BEAT_DELAY_MS = 1000;
export type { MatchedJob, StopRequest, WrapperOutcome };

/** Options of {@link runWrapper}. */
export interface RunWrapperOptions {
  /** The matched job. */
  job: MatchedJob;
  /** How to launch the wrapper. */
  launch: Launch;
  /** Host path of the sandbox (removed at the end). */
  sandbox: string;
  /** Broker client with the agent token. */
  broker: BrokerClient;
  /** Broker base URL as the wrapper must use it. */
  brokerUrl: string;
  /** The site map sent at match time. */
  siteMap: Record<string, unknown>;
  /** Heartbeat interval, s. @default 60 */
  heartbeatSeconds?: number;
  /** Interval of the cheap kill check, s (0: heartbeat only). @default 2 */
  killCheckSeconds?: number;
  /** How long to wait for `hello`, ms. @default 30000 */
  helloTimeoutMs?: number;
  /** Grace after `cancel` before SIGTERM to the tree, ms. @default 10000 */
  cancelGraceMs?: number;
  /** Grace after SIGTERM before SIGKILL, ms. @default 5000 */
  termGraceMs?: number;
  /** Whether the launcher needs a group kill (no pid namespace). */
  groupKill: boolean;
  /** Samples the wrapper's tree; without it no limits are enforced. */
  sampler?: Sampler;
  /** The job's limits (needs `sampler`). */
  limits?: JobLimits;
  /** Watchdog sampling interval, ms. @default 5000 */
  sampleIntervalMs?: number;
  /** The job's own cgroup (cgroup sampler; the argv already joins it). */
  cgroup?: string;
  /** Log sink. */
  log: (line: string) => void;
  /** Keeps the outcome until the broker acknowledges it. */
  outbox?: ReportOutbox;
  /** Aborted when the agent is preempted; `reason` is a {@link StopRequest}. */
  signal?: AbortSignal;
  /**
   * A pre-started wrapper of this launch that said `hello` already
   * (`warm_pool.ts`): no spawn, the `start` frame goes out at once.
   */
  warm?: Pick<WarmWrapper, "proc" | "frames" | "hello">;
  /**
   * Called once the wrapper and its whole tree are gone, with the last
   * stage it reported: the job's cores are free, while its outcome is
   * still being reported.
   */
  onExit?: (stage: string) => void;
  /** Called with each frame (tests). */
  onFrame?: (frame: Frame) => void;
  /**
   * Relay the wrapper's broker calls (the wrapper has no network and
   * never sees the job key); false hands it the token to connect itself,
   * which only a wrapper launched with `--allow-net` can. @default true
   */
  relay?: boolean;
}

/**
 * Runs one matched job through a wrapper process and returns how it
 * ended; never throws for job failures (they are outcomes).
 *
 * @example
 * ```ts ignore
 * import { buildLaunch, prepareLaunch, sourceWrapperProgram } from "./wrapper_launch.ts";
 * import { runWrapper } from "./run_wrapper.ts";
 * // `job` is the broker's answer to POST /api/v1/match.
 * const launch = buildLaunch({
 *   driver, program: sourceWrapperProgram(), sandbox, broker: "127.0.0.1:8443",
 *   payload: (workdir) => payloadPrograms(parseJdl(job.jdl), workdir),
 *   denoDir: `${workRoot}/.deno`,
 * });
 * const hold = await prepareLaunch(driver, launch);
 * const outcome = await runWrapper({
 *   job, launch, sandbox, broker: client, brokerUrl: "https://127.0.0.1:8443",
 *   siteMap: { site: "CERN", cpuCores: 1 }, groupKill: false, log: console.error,
 * }).finally(() => hold.release());
 * outcome.state; // e.g. "DONE"
 * ```
 */
export async function runWrapper(
  opts: RunWrapperOptions,
): Promise<WrapperOutcome> {
  const { job, log } = opts;
  const startedAt = Date.now();
  let stage = "ASSIGNED";
  let proc: WrapperProcess;
  try {
    proc = opts.warm?.proc ??
      spawnWrapper(opts.launch, opts.sandbox, opts.groupKill);
  } catch (e) {
    const outcome: WrapperOutcome = {
      state: "ERROR_A",
      exitCode: 127,
      message: `could not start the wrapper (${opts.launch.argv[0]}): ${
        (e as Error).message
      }`,
      stage,
      startedAt,
      endedAt: Date.now(),
    };
    await report(opts, outcome);
    await cleanup(opts);
    return outcome;
  }
  const { child } = proc;
  const out = new FrameWriter(child.stdin);
  const frames = opts.warm?.frames ?? readFrames(child.stdout);
  const relay = opts.relay === false ? undefined : new RelayServer({
    jobId: job.jobId,
    // Relayed calls go below the first replica; the agent's client maps
    // them to the replica it uses (and fails over).
    broker: brokerUrls(opts.brokerUrl)[0],
    jobCertPem: job.token.certPem,
    client: opts.broker,
    out,
    log,
  });
  // Live output for `splitpilot logs -f`, never on the payload's path.
  const live = new LogForwarder((lines, eof) =>
    opts.broker.json("POST", `/api/v1/jobs/${job.jobId}/log`, { lines, eof })
  );

  let watchdog: Watchdog | undefined;
  let finalSeen = false;
  const kills = new KillSequence({
    jobId: job.jobId,
    child,
    groupKill: opts.groupKill,
    sendCancel: (c) => out.send(FrameType.Cancel, c),
    cancelGraceMs: opts.cancelGraceMs,
    termGraceMs: opts.termGraceMs,
    log,
  });
  const kill = (reason: number, message: string) => kills.kill(reason, message);
  const onAbort = () =>
    kills.stop(opts.signal?.reason as Partial<StopRequest> | undefined);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  if (opts.sampler) {
    try {
      kills.tree = await opts.sampler.watch(child.pid, {
        cgroup: opts.cgroup,
        sandbox: opts.sandbox,
      });
      if (opts.limits) {
        watchdog = new Watchdog({
          sampler: opts.sampler,
          tree: kills.tree,
          sandbox: opts.sandbox,
          limits: opts.limits,
          intervalMs: opts.sampleIntervalMs,
          pssIntervalMs: (opts.heartbeatSeconds ?? 60) * 1000,
          onViolation: (v) => kill(v.reason, `watchdog: ${v.message}`),
          onError: (e) =>
            log(`job ${job.jobId}: watchdog sample failed: ${e.message}`),
        });
        watchdog.start();
      }
    } catch (e) {
      log(
        `job ${job.jobId}: cannot watch the wrapper: ${(e as Error).message}`,
      );
    }
  }
  const tree = kills.tree;
  const usage = (): Usage =>
    watchdog?.usage() ?? {
      cpuSeconds: 0,
      rssBytes: 0,
      wallSeconds: (Date.now() - startedAt) / 1000,
      diskBytes: 0,
    };

  const heartbeats = new HeartbeatLoop({
    broker: opts.broker,
    jobId: job.jobId,
    intervalMs: (opts.heartbeatSeconds ?? 60) * 1000,
    usage,
    finalSeen: () => finalSeen,
    onKill: kill,
    log,
  });
  const stopKillWatch = watchForKill({
    broker: opts.broker,
    jobId: job.jobId,
    intervalMs: (opts.killCheckSeconds ?? KILL_CHECK_SECONDS) * 1000,
    onKill: (reason, message) => kill(reason, brokerKillMessage(message)),
  });
  heartbeats.start();

  let savingBeat: ReturnType<typeof setTimeout> | undefined;
  let savingSample: Promise<void> | undefined;
  let runningSample: Promise<void> | undefined;
  let end: Awaited<ReturnType<typeof converse>>;
  let protocolError: string | undefined;
  try {
    end = await converse({
      frames,
      send: (type, msg) => out.send(type, msg),
      start: {
        jobId: job.jobId,
        jdl: job.jdl,
        user: job.user,
        ...(relay ? { relay: true } : { token: job.token }),
        broker: opts.brokerUrl,
        resubmission: job.resubmission,
        siteMap: opts.siteMap,
        env: {},
      },
      helloTimeoutMs: opts.helloTimeoutMs ?? 30000,
      hello: opts.warm?.hello,
      onFrame: opts.onFrame,
      relay: relay && ((f) => relay.handle(f)),
      onStage: (s) => {
        stage = s;
        watchdog?.stage(stage);
        if (!isActive(stage)) finalSeen = true;
        else if (stage === "RUNNING") {
          // One sample while the wrapper surely lives: a job shorter than
          // the sampling interval still gets its memory accounted.
          runningSample = watchdog?.sampleNow().catch(() => {});
        } else if (stage === "SAVING") {
          // The payload is done: sample its final CPU and memory now; they
          // go in a heartbeat while the job still takes heartbeats, unless
          // the final state comes first (then in the final report: one
          // request fewer).
          savingSample = watchdog?.sampleNow().catch(() => {});
          savingBeat = setTimeout(() => {
            if (!finalSeen) {
              savingSample?.then(() => heartbeats.beat()).catch(() => {});
            }
          }, SAVING_BEAT_DELAY_MS);
        }
      },
      onLog: (l) => {
        // Payload output: control bytes escaped before any log or viewer.
        live.push(l.stream, l.lines.map(escapeControl));
        for (const line of l.lines) {
          log(`job ${job.jobId} ${escapeControl(`${l.stream}: ${line}`)}`);
        }
      },
    });
  } catch (e) {
    protocolError = (e as Error).message;
    log(`job ${job.jobId}: ${protocolError}`);
    await kills.stopTree("KILL");
  }
  await relay?.close();
  await out.close().catch(() => {});
  // Sent with the final report: one request fewer per job.
  const logTail = await live.drain();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status,
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5000)),
  ]);
  clearTimeout(timer);
  if (!exited) await kills.stopTree("KILL");
  const status = await child.status;
  // Leftover processes may hold stderr open: wait a moment, not forever
  // (longer when the audit's last records may still be on their way).
  await capped(proc.stderrDone, proc.audited ? 5000 : 1000);
  const audit = await proc.auditVerdict();
  // Whatever the wrapper left behind (a daemonized payload, or the whole
  // payload when the wrapper itself was killed without a pid namespace).
  if (tree) await capped(tree.signal("KILL").catch(() => 0));
  else if (opts.groupKill) await kills.stopTree("KILL");
  opts.onExit?.(stage);
  heartbeats.end();
  clearTimeout(savingBeat);
  stopKillWatch();
  kills.dispose();
  opts.signal?.removeEventListener("abort", onAbort);
  await capped(heartbeats.pending);
  // The sample taken when the payload ended, before the watchdog stops.
  await capped(runningSample);
  await capped(savingSample);
  await capped(watchdog?.stop());
  await capped(frames.return?.().catch(() => {}));
  const endedAt = Date.now();

  const decided = decideOutcome({
    end,
    cancelled: kills.cancelled,
    status,
    protocolError,
    stage,
    errTail: proc.stderrTail(),
    usage: { ...usage(), wallSeconds: (endedAt - startedAt) / 1000 },
    startedAt,
    endedAt,
  });
  let outcome = decided.outcome;
  if (opts.launch.spec.env[OOM_CHECK_ENV] === "1" && !kills.cancelled) {
    // The container's OOM killer: the memory kill the watchdog would make.
    const oom = oomOutcome(
      outcome,
      status.code,
      decided.died,
      opts.launch.spec.resources?.memoryBytes,
    );
    if (oom !== outcome) log(`job ${job.jobId}: ${oom.message}`);
    outcome = oom;
  }
  if (audit) {
    outcome.audit = audit;
    log(`job ${job.jobId}: ${auditSummaryLine(audit)}`);
  }
  const reported = await report(opts, outcome, decided.died, logTail);
  heartbeats.stop();
  await capped(heartbeats.pending);
  if (reported.startsWith("ERROR_") && reported !== outcome.state) {
    outcome = { ...outcome, state: reported };
  }
  if (tree) await capped(tree.release().catch(() => {}));
  await cleanup(opts);
  return outcome;
}

/**
 * Reports the outcome through the agent's one retrying report path
 * ({@link reportOutcome}); returns the state reported or found.
 */
function report(
  opts: RunWrapperOptions,
  o: WrapperOutcome,
  death = false,
  logTail?: ForwardedLine[],
): Promise<string> {
  return reportOutcome(
    { broker: opts.broker, outbox: opts.outbox, log: opts.log },
    {
      jobId: opts.job.jobId,
      attempt: opts.job.resubmission,
      outcome: o,
      death,
    },
    logTail,
  );
}

async function cleanup(opts: RunWrapperOptions) {
  await Deno.remove(opts.sandbox, { recursive: true }).catch((e) =>
    opts.log(`could not remove sandbox ${opts.sandbox}: ${e.message}`)
  );
}

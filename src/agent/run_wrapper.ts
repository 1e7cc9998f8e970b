/**
 * Runs one matched job through a wrapper process: spawn, `hello`, `start`,
 * frames until `end`; meanwhile the watchdog samples the wrapper's process
 * tree against the job's limits, heartbeats carry its usage to the broker,
 * and a kill (limit, user, preemption) runs the one kill sequence:
 * `cancel` frame → grace → SIGTERM → SIGKILL of the whole tree. At the end
 * the agent reports what the wrapper could not (kills, deaths), with the
 * usage summary, and removes the sandbox.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import type { Usage } from "../protocol/usage.ts";
import { isActive } from "../protocol/job_state.ts";
import type { TokenPem } from "../protocol/token_pem.ts";
import {
  decodeJson,
  type Frame,
  FrameType,
  FrameWriter,
  PROTOCOL_VERSION,
  readFrames,
  readFrameWithTimeout,
} from "../pipe/mod.ts";
import {
  type CancelMessage,
  type EndMessage,
  type HelloMessage,
  KillReason,
  type LogMessage,
  type StartMessage,
  type StatusMessage,
} from "../protocol/mod.ts";
import type { JobLimits } from "../watchdog/limits.ts";
import type { Sampler, TreeSignal, WatchedTree } from "../watchdog/sampler.ts";
import { Watchdog } from "../watchdog/watchdog.ts";
import { signalOwnGroup } from "../watchdog/verified_kill.ts";
import type { Launch } from "./wrapper_launch.ts";
import { spawnWrapper } from "./spawn_wrapper.ts";
import type { WarmWrapper } from "./warm_pool.ts";
import { escapeControl } from "./log_escape.ts";
import { type ForwardedLine, LogForwarder } from "./log_forwarder.ts";
import type { ReportOutbox } from "./report_outbox.ts";
import {
  brokerKillMessage,
  KILL_CHECK_SECONDS,
  watchForKill,
} from "./kill_watch.ts";
import { deathState, reportOutcome } from "./report_outcome.ts";

export { deathState };

/**
 * How long a job may sit in SAVING before the agent sends the payload's
 * final usage in a heartbeat of its own; a job that ends sooner gets it in
 * its final report.
 */
const SAVING_BEAT_DELAY_MS = 1000;

/** A job as the broker handed it to us. */
export interface MatchedJob {
  /** Job ID. */
  jobId: string;
  /** JDL text. */
  jdl: string;
  /** Owner. */
  user: string;
  /** TTL, s. */
  ttl: number;
  /** Resubmission count. */
  resubmission: number;
  /** Job token PEMs. */
  token: TokenPem;
}

/**
 * Why the agent stops a job, with the whole time budget for it: the
 * wrapper gets 60% of `graceMs` after `cancel`, the tree SIGTERM then and
 * SIGKILL at 80%, so everything is over within `graceMs`.
 */
export type StopRequest = CancelMessage;

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
  warm?: Pick<WarmWrapper, "child" | "frames" | "hello">;
  /**
   * Called once the wrapper and its whole tree are gone: the job's cores
   * are free, while its outcome is still being reported.
   */
  onExit?: () => void;
  /** Called with each frame (tests). */
  onFrame?: (frame: Frame) => void;
}

/** What happened to the job, from the agent's point of view. */
export interface WrapperOutcome {
  /** Final state (WAITING: handed back for resubmission). */
  state: string;
  /** Exit code. */
  exitCode: number;
  /** Detail. */
  message?: string;
  /** Kill reason, if killed. */
  killReason?: number;
  /** Last stage the wrapper reported. */
  stage: string;
  /** Usage summary (what the watchdog saw). */
  usage?: Usage;
  /** Wrapper start and end, ms since epoch. */
  startedAt: number;
  /** See `startedAt`. */
  endedAt: number;
}

/** `: <last stderr lines>` of a wrapper that died, or nothing. */
function lastLines(text: string): string {
  // Runtimes colour their messages (singularity always does): keep the words.
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
  const lines = plain.trim().split("\n").filter((l) =>
    l && !l.startsWith("[wrapper")
  ).slice(-2);
  return lines.length > 0 ? `: ${lines.join(" | ")}` : "";
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
  const { job, launch, log } = opts;
  const program = launch.argv[0];
  const startedAt = Date.now();
  let child: Deno.ChildProcess;
  let stage = "ASSIGNED";
  try {
    child = opts.warm?.child ??
      spawnWrapper(launch, opts.sandbox, opts.groupKill);
  } catch (e) {
    const outcome: WrapperOutcome = {
      state: "ERROR_A",
      exitCode: 127,
      message: `could not start the wrapper (${program}): ${
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
  const out = new FrameWriter(child.stdin);
  const frames = opts.warm?.frames ?? readFrames(child.stdout);
  // Live output for `splitpilot logs -f`, never on the payload's path.
  const live = new LogForwarder((lines, eof) =>
    opts.broker.json("POST", `/api/v1/jobs/${job.jobId}/log`, { lines, eof })
  );
  // The launcher's and wrapper's stderr go on to ours; the tail says why
  // a wrapper never started (e.g. "bwrap: Can't mkdir /proc").
  let errTail = "";
  const errDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      await Deno.stderr.write(chunk).catch(() => 0);
      errTail = (errTail + dec.decode(chunk, { stream: true })).slice(-4096);
    }
  })().catch(() => {});

  let tree: WatchedTree | undefined;
  let watchdog: Watchdog | undefined;
  let cancelled: CancelMessage | undefined;
  let finalSeen = false;
  // Set once the wrapper is over: heartbeats go on until the outcome is
  // acknowledged, but nothing is left for them to stop.
  let ended = false;
  const timers: ReturnType<typeof setTimeout>[] = [];

  const stopTree = async (sig: TreeSignal) => {
    if (sig === "KILL") {
      // Our own child first: this needs nothing that could hang.
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    if (tree) {
      try {
        // With a pid namespace the root is the launcher, whose death ends
        // the namespace at once: SIGTERM spares it so the payload gets its
        // TERM; SIGKILL takes everything.
        const n = await tree.signal(sig, {
          includeRoot: sig === "KILL" || opts.groupKill,
        });
        if (n > 0) log(`job ${job.jobId}: SIG${sig} to ${n} process(es)`);
      } catch (e) {
        log(`job ${job.jobId}: SIG${sig} failed: ${(e as Error).message}`);
      }
    } else if (opts.groupKill) {
      await signalOwnGroup(sig, child.pid);
    }
  };

  const cancel = (
    c: CancelMessage,
    termAfterMs: number,
    killAfterMs: number,
  ) => {
    if (cancelled) return;
    cancelled = c;
    log(`job ${job.jobId}: cancel (reason ${c.reason}): ${c.message}`);
    out.send(FrameType.Cancel, { ...c, graceMs: termAfterMs }).catch(() => {});
    timers.push(setTimeout(() => stopTree("TERM"), termAfterMs));
    timers.push(setTimeout(() => stopTree("KILL"), killAfterMs));
  };
  const grace = opts.cancelGraceMs ?? 10000;
  const termGrace = opts.termGraceMs ?? 5000;
  const kill = (reason: number, message: string) =>
    cancel({ reason, message, graceMs: grace }, grace, grace + termGrace);

  const onAbort = () => {
    const r = opts.signal?.reason as Partial<StopRequest> | undefined;
    const total = r?.graceMs ?? grace + termGrace;
    cancel(
      {
        reason: r?.reason ?? KillReason.PREEMPTED,
        message: r?.message ?? "slot preempted",
        graceMs: total,
      },
      Math.round(total * 0.6),
      Math.round(total * 0.8),
    );
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  if (opts.sampler) {
    try {
      tree = await opts.sampler.watch(child.pid, {
        cgroup: opts.cgroup,
        sandbox: opts.sandbox,
      });
      if (opts.limits) {
        watchdog = new Watchdog({
          sampler: opts.sampler,
          tree,
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
  const usage = (): Usage =>
    watchdog?.usage() ?? {
      cpuSeconds: 0,
      rssBytes: 0,
      wallSeconds: (Date.now() - startedAt) / 1000,
      diskBytes: 0,
    };

  let beating: Promise<void> | undefined;
  const beat = () => {
    beating ??= heartbeat().finally(() => beating = undefined);
    return beating;
  };
  const heartbeat = async () => {
    try {
      const r = await opts.broker.json<
        { kill?: { reason: number; message: string } }
      >("POST", `/api/v1/jobs/${job.jobId}/heartbeat`, { usage: usage() });
      if (r?.kill && !ended) {
        kill(r.kill.reason, brokerKillMessage(r.kill.message));
      }
    } catch (e) {
      const status = (e as { status?: number }).status;
      // 403/409: the broker gave the job up (final, or resubmitted to
      // someone else); running on would only duplicate it.
      if (ended) return;
      if ((status === 403 || status === 409) && !finalSeen) {
        kill(
          KillReason.PREEMPTED,
          `the broker no longer has this job as ours: ${(e as Error).message}`,
        );
      } else if (!finalSeen) {
        log(`job ${job.jobId}: heartbeat failed: ${(e as Error).message}`);
      }
    }
  };
  const stopKillWatch = watchForKill({
    broker: opts.broker,
    jobId: job.jobId,
    intervalMs: (opts.killCheckSeconds ?? KILL_CHECK_SECONDS) * 1000,
    onKill: (reason, message) => kill(reason, brokerKillMessage(message)),
  });
  const heartbeatTimer = setInterval(
    beat,
    (opts.heartbeatSeconds ?? 60) * 1000,
  );

  let savingBeat: ReturnType<typeof setTimeout> | undefined;
  let savingSample: Promise<void> | undefined;
  let end: EndMessage | undefined;
  let protocolError: string | undefined;
  try {
    const hello = opts.warm?.hello ?? await readFrameWithTimeout(
      frames,
      opts.helloTimeoutMs ?? 30000,
      "hello",
    );
    // No frame at all: the wrapper died before it said anything.
    if (hello) await converse(hello);
  } catch (e) {
    protocolError = (e as Error).message;
    log(`job ${job.jobId}: ${protocolError}`);
    await stopTree("KILL");
  }

  async function converse(hello: Frame) {
    if (hello.type !== FrameType.Hello) {
      throw new Error(`expected a hello frame first, got ${hello.type}`);
    }
    const h = decodeJson<HelloMessage>(hello);
    if (h.version !== PROTOCOL_VERSION) {
      throw new Error(
        `wrapper speaks protocol ${h.version}, we speak ${PROTOCOL_VERSION}`,
      );
    }
    const start: StartMessage = {
      jobId: job.jobId,
      jdl: job.jdl,
      user: job.user,
      token: job.token,
      broker: opts.brokerUrl,
      resubmission: job.resubmission,
      siteMap: opts.siteMap,
      env: {},
    };
    await out.send(FrameType.Start, start);
    for (let f = await frames.next(); !f.done; f = await frames.next()) {
      const frame = f.value;
      opts.onFrame?.(frame);
      if (frame.type === FrameType.Status) {
        stage = decodeJson<StatusMessage>(frame).state;
        watchdog?.stage(stage);
        if (!isActive(stage)) finalSeen = true;
        else if (stage === "SAVING") {
          // The payload is done: send its final CPU and memory while the
          // job still takes heartbeats, unless the final state comes first
          // (then the final report carries them: one request fewer).
          savingSample = watchdog?.sampleNow().catch(() => {});
          savingBeat = setTimeout(() => {
            if (!finalSeen) savingSample?.then(beat).catch(() => {});
          }, SAVING_BEAT_DELAY_MS);
        }
      } else if (frame.type === FrameType.Log) {
        const l = decodeJson<LogMessage>(frame);
        // Payload output: control bytes escaped before any log or viewer.
        live.push(l.stream, l.lines.map(escapeControl));
        for (const line of l.lines) {
          log(`job ${job.jobId} ${escapeControl(`${l.stream}: ${line}`)}`);
        }
      } else if (frame.type === FrameType.End) {
        end = decodeJson<EndMessage>(frame);
        break;
      }
    }
  }
  await out.close().catch(() => {});
  // Sent with the final report: one request fewer per job.
  const logTail = await live.drain();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status,
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5000)),
  ]);
  clearTimeout(timer);
  if (!exited) await stopTree("KILL");
  const status = await child.status;
  // Leftover processes may hold stderr open: wait a moment, not forever.
  let errTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    errDone,
    new Promise((r) => errTimer = setTimeout(r, 1000)),
  ]);
  clearTimeout(errTimer);
  // Whatever the wrapper left behind (a daemonized payload, or the whole
  // payload when the wrapper itself was killed without a pid namespace).
  if (tree) await capped(tree.signal("KILL").catch(() => 0));
  else if (opts.groupKill) await stopTree("KILL");
  ended = true;
  opts.onExit?.();
  stopKillWatch();
  for (const t of timers) clearTimeout(t);
  clearTimeout(savingBeat);
  opts.signal?.removeEventListener("abort", onAbort);
  await capped(beating);
  // The sample taken when the payload ended, before the watchdog stops.
  await capped(savingSample);
  await capped(watchdog?.stop());
  await capped(frames.return?.().catch(() => {}));
  const endedAt = Date.now();
  const summary = { ...usage(), wallSeconds: (endedAt - startedAt) / 1000 };

  let outcome: WrapperOutcome;
  let died = false;
  if (end && !(cancelled && end.killReason !== undefined)) {
    // The wrapper finished by itself (perhaps before it saw the cancel).
    outcome = { ...end, stage, usage: summary, startedAt, endedAt };
  } else if (cancelled) {
    const preempted = cancelled.reason === KillReason.PREEMPTED;
    outcome = {
      state: preempted ? "WAITING" : "ERROR_E",
      exitCode: end?.exitCode ?? exitCode(status),
      message: cancelled.message,
      killReason: preempted ? undefined : cancelled.reason,
      stage,
      usage: summary,
      startedAt,
      endedAt,
    };
  } else {
    died = true;
    outcome = {
      state: deathState(stage),
      exitCode: exitCode(status),
      message: protocolError
        ? `wrapper broke the protocol in stage ${stage}: ${protocolError}`
        : `wrapper died in stage ${stage} without a final report (${
          status.signal ? `signal ${status.signal}` : `exit ${status.code}`
        })${lastLines(errTail)}`,
      stage,
      usage: summary,
      startedAt,
      endedAt,
    };
  }
  const reported = await report(opts, outcome, died, logTail);
  clearInterval(heartbeatTimer);
  await capped(beating);
  if (reported.startsWith("ERROR_") && reported !== outcome.state) {
    outcome = { ...outcome, state: reported };
  }
  if (tree) await capped(tree.release().catch(() => {}));
  await cleanup(opts);
  return outcome;
}

/**
 * Waits for `p` at most `ms`: the end of a job must not hang on a broker
 * or a sampler that stopped answering (each has its own error path).
 */
async function capped(p: Promise<unknown> | undefined, ms = 15_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p?.catch(() => {}),
    new Promise((r) => timer = setTimeout(r, ms)),
  ]);
  clearTimeout(timer);
}

function exitCode(status: Deno.CommandStatus): number {
  if (status.signal === "SIGKILL") return 137;
  if (status.signal === "SIGTERM") return 143;
  return status.code;
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

/**
 * Runs one matched job through a wrapper process: spawn, `hello`, `start`,
 * frames until `end`, heartbeats, kill on request, sandbox removal.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import {
  type CancelMessage,
  decodeJson,
  type EndMessage,
  type Frame,
  FrameType,
  FrameWriter,
  type HelloMessage,
  type LogMessage,
  PROTOCOL_VERSION,
  readFrames,
  readFrameWithTimeout,
  type StartMessage,
  type StatusMessage,
} from "../pipe/mod.ts";
import { KILL_PROGRAM } from "../wrapper/executable.ts";
import type { Launch } from "./wrapper_launch.ts";

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
  token: { certPem: string; keyPem: string; caPem: string };
}

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
  /** How long to wait for `hello`, ms. @default 30000 */
  helloTimeoutMs?: number;
  /** Grace after `cancel` before the tree is killed, ms. @default 10000 */
  cancelGraceMs?: number;
  /** Whether the launcher needs a group kill (no pid namespace). */
  groupKill: boolean;
  /** Log sink. */
  log: (line: string) => void;
  /** Aborted when the agent is preempted (SIGTERM). */
  signal?: AbortSignal;
  /** Called with each frame (tests, watchdog). */
  onFrame?: (frame: Frame) => void;
}

/** What happened to the job, from the agent's point of view. */
export interface WrapperOutcome {
  /** Final state. */
  state: string;
  /** Exit code. */
  exitCode: number;
  /** Detail. */
  message?: string;
  /** Kill reason, if killed. */
  killReason?: number;
  /** Last stage the wrapper reported. */
  stage: string;
}

const ACTIVE = new Set(["ASSIGNED", "STARTED", "RUNNING", "SAVING"]);

/** Maps the stage a wrapper died in to the error state (JAliEn's). */
export function deathState(stage: string): string {
  if (stage === "RUNNING") return "ERROR_E";
  if (stage === "SAVING") return "ERROR_SV";
  return "ERROR_A";
}

/** Runs one job; never throws for job failures (they are outcomes). */
export async function runWrapper(
  opts: RunWrapperOptions,
): Promise<WrapperOutcome> {
  const { job, launch, log } = opts;
  const [program, ...args] = launch.argv;
  let child: Deno.ChildProcess;
  let stage = "ASSIGNED";
  try {
    child = new Deno.Command(program, {
      args,
      env: launch.spec.env,
      clearEnv: true,
      cwd: opts.sandbox,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      detached: opts.groupKill,
    }).spawn();
  } catch (e) {
    const outcome = {
      state: "ERROR_A",
      exitCode: 127,
      message: `could not start the wrapper (${program}): ${
        (e as Error).message
      }`,
      stage,
    };
    await report(opts, outcome);
    await cleanup(opts);
    return outcome;
  }
  const out = new FrameWriter(child.stdin);
  const frames = readFrames(child.stdout);
  let killed = false;
  const killTree = async () => {
    if (killed) return;
    killed = true;
    if (opts.groupKill) {
      await new Deno.Command(KILL_PROGRAM, {
        args: ["-s", "KILL", "--", `-${child.pid}`],
        stdout: "null",
        stderr: "null",
        clearEnv: true,
      }).output().catch(() => {});
    }
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  let cancelled: CancelMessage | undefined;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const cancel = (c: CancelMessage) => {
    if (cancelled) return;
    cancelled = c;
    log(`job ${job.jobId}: cancel (reason ${c.reason}): ${c.message}`);
    out.send(FrameType.Cancel, c).catch(() => {});
    graceTimer = setTimeout(killTree, c.graceMs);
  };
  const onAbort = () =>
    cancel(
      opts.signal?.reason ?? {
        reason: 90,
        message: "slot preempted",
        graceMs: opts.cancelGraceMs ?? 10000,
      },
    );
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const started = Date.now();
  const heartbeat = setInterval(async () => {
    try {
      const r = await opts.broker.json<
        { kill?: { reason: number; message: string } }
      >(
        "POST",
        `/api/v1/jobs/${job.jobId}/heartbeat`,
        {
          usage: {
            cpuSeconds: 0,
            rssBytes: 0,
            wallSeconds: (Date.now() - started) / 1000,
            diskBytes: 0,
          },
        },
      );
      if (r?.kill) {
        cancel({
          reason: r.kill.reason,
          message: r.kill.message,
          graceMs: opts.cancelGraceMs ?? 10000,
        });
      }
    } catch (e) {
      log(`job ${job.jobId}: heartbeat failed: ${(e as Error).message}`);
    }
  }, (opts.heartbeatSeconds ?? 60) * 1000);

  let end: EndMessage | undefined;
  let protocolError: string | undefined;
  try {
    const hello = await readFrameWithTimeout(
      frames,
      opts.helloTimeoutMs ?? 30000,
      "hello",
    );
    if (!hello || hello.type !== FrameType.Hello) {
      throw new Error(
        `expected a hello frame first, got ${hello?.type ?? "end of stream"}`,
      );
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
      ttl: job.ttl,
      resubmission: job.resubmission,
      siteMap: opts.siteMap,
      env: {},
      heartbeatSeconds: opts.heartbeatSeconds,
    };
    await out.send(FrameType.Start, start);
    for (let f = await frames.next(); !f.done; f = await frames.next()) {
      const frame = f.value;
      opts.onFrame?.(frame);
      if (frame.type === FrameType.Status) {
        stage = decodeJson<StatusMessage>(frame).state;
      } else if (frame.type === FrameType.Log) {
        const l = decodeJson<LogMessage>(frame);
        for (const line of l.lines) {
          log(`job ${job.jobId} ${l.stream}: ${line}`);
        }
      } else if (frame.type === FrameType.End) {
        end = decodeJson<EndMessage>(frame);
        break;
      }
    }
  } catch (e) {
    protocolError = (e as Error).message;
    log(`job ${job.jobId}: ${protocolError}`);
    await killTree();
  }
  await out.close().catch(() => {});
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
  ]);
  if (!status) await killTree();
  await child.status;
  if (opts.groupKill) await killTree();
  clearInterval(heartbeat);
  clearTimeout(graceTimer);
  opts.signal?.removeEventListener("abort", onAbort);
  await frames.return?.().catch(() => {});

  let outcome: WrapperOutcome;
  if (cancelled) {
    const preempted = cancelled.reason === 90;
    outcome = {
      state: preempted ? "WAITING" : "ERROR_E",
      exitCode: end?.exitCode ?? 137,
      message: cancelled.message,
      killReason: cancelled.reason,
      stage,
    };
  } else if (end) {
    outcome = { ...end, stage };
  } else {
    outcome = {
      state: deathState(stage),
      exitCode: 1,
      message: protocolError ??
        `wrapper died in stage ${stage} without a final report`,
      stage,
    };
  }
  await report(opts, outcome);
  await cleanup(opts);
  return outcome;
}

/** Reports the outcome unless the broker already has a final state. */
async function report(opts: RunWrapperOptions, o: WrapperOutcome) {
  const path = `/api/v1/jobs/${opts.job.jobId}`;
  try {
    const now = await opts.broker.json<{ state: string }>("GET", path);
    if (!now || !ACTIVE.has(now.state) || now.state === o.state) return;
    await opts.broker.json("POST", `${path}/status`, {
      state: o.state,
      message: o.message ?? `agent: ${o.state}`,
      exitCode: o.exitCode,
      killReason: o.killReason,
    });
  } catch (e) {
    // 403: the broker already moved the job on (e.g. resubmitted it).
    if ((e as { status?: number }).status === 403) return;
    opts.log(
      `job ${opts.job.jobId}: could not report ${o.state}: ${
        (e as Error).message
      }`,
    );
  }
}

async function cleanup(opts: RunWrapperOptions) {
  await Deno.remove(opts.sandbox, { recursive: true }).catch((e) =>
    opts.log(`could not remove sandbox ${opts.sandbox}: ${e.message}`)
  );
}

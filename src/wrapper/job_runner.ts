/**
 * The JobWrapper's job lifecycle: stage inputs, run the payload, validate,
 * upload outputs, report — holding only the job token.
 *
 * The wrapper talks to two parties: the broker (HTTPS, job token) for job
 * state and files, and the agent (frames on stdout) for status, logs and
 * its final word. Its stdout carries frames only; its own log goes to
 * stderr and into the sandbox's `wrapper.log`.
 *
 * @module
 */
import { BrokerClient, BrokerError } from "../client/broker_client.ts";
import { resend } from "../client/resend.ts";
import type { JobDescription } from "../jdl/mod.ts";
import { FrameType, type FrameWriter } from "../pipe/mod.ts";
import {
  type CancelMessage,
  type EndMessage,
  KillReason,
  type StartMessage,
} from "../protocol/mod.ts";
import { checkSetup, SETUP_ENV } from "../container/setup_script.ts";
import { OOM_CHECK_ENV } from "../container/oom_check.ts";
import { stageInputs } from "./stage_inputs.ts";
import { runPayload } from "./run_payload.ts";
import {
  buildArchives,
  collectOutputs,
  type OutputItem,
  uploadOutputs,
} from "./upload_outputs.ts";

/** What a wrapper run needs besides the `start` message. */
export interface JobContext {
  /** The start message from the agent. */
  start: StartMessage;
  /** The parsed JDL. */
  jdl: JobDescription;
  /** The sandbox, as the wrapper sees it. */
  workdir: string;
  /** Frames to the agent. */
  out: FrameWriter;
  /** Aborted when the agent sends `cancel` (reason in `signal.reason`). */
  signal: AbortSignal;
  /** Logs one wrapper line (stderr + log frame). */
  log: (line: string) => void;
  /** Carries the broker calls when `start.relay` is set (the agent relays). */
  transport?: (url: string, init: RequestInit) => Promise<Response>;
}

/**
 * Runs the job and returns the final state for the `end` frame: reports
 * STARTED, stages inputs, reports RUNNING, runs the payload and its
 * validation, reports SAVING, uploads outputs, reports the final state.
 *
 * @example
 * ```ts ignore
 * import { parseJdl } from "../jdl/mod.ts";
 * import { runJob } from "./job_runner.ts";
 * const end = await runJob({
 *   start, // the StartMessage from the agent
 *   jdl: parseJdl(start.jdl),
 *   workdir: "/workdir",
 *   out, // a FrameWriter on stdout
 *   signal: cancelled.signal,
 *   log: (line) => console.error(line),
 * });
 * await out.send(FrameType.End, end);
 * ```
 */
export async function runJob(ctx: JobContext): Promise<EndMessage> {
  const { start, jdl, out } = ctx;
  const broker = new BrokerClient(
    start.broker,
    start.relay ? undefined : start.token,
    { transport: start.relay ? ctx.transport : undefined },
  );
  // A refused job token (401: the job was killed or handed to someone
  // else) stops the payload: we no longer own this job.
  const revoked = new AbortController();
  const signal = AbortSignal.any([ctx.signal, revoked.signal]);
  const post = async (body: Record<string, unknown>) => {
    // Resent until acknowledged: a report lost in a broker outage would
    // leave the job behind its payload (see src/client/resend.ts).
    const r = await resend(
      () =>
        broker.json("POST", `/api/v1/jobs/${start.jobId}/status`, {
          ...body,
          attempt: start.resubmission,
        }),
      {
        onRetry: (e, n) =>
          n === 1 &&
          ctx.log(
            `report ${body.state} not acknowledged, resending: ${e.message}`,
          ),
      },
    );
    if (r.kind !== "acked") {
      const e = r.error;
      ctx.log(
        `could not report ${body.state} to the broker: ${(e as Error).message}`,
      );
      if (e instanceof BrokerError && e.status === 401) {
        if (!revoked.signal.aborted) {
          revoked.abort(
            {
              reason: KillReason.USER,
              message: `job token refused: ${e.message}`,
              graceMs: 2000,
            } satisfies CancelMessage,
          );
        }
        throw e;
      }
    }
  };
  // Status updates go out in order on one chain. Intermediate states are
  // not awaited before the next step (the payload should not wait on a
  // network round trip to start); final states are.
  let chain: Promise<void> = Promise.resolve();
  const report = (
    state: string,
    message?: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> => {
    out.send(FrameType.Status, { state, message, ...extra }).catch(() => {});
    const next = chain.then(() => post({ state, message, ...extra }));
    chain = next.catch(() => {});
    return next;
  };
  const background = (p: Promise<void>) => void p.catch(() => {});
  try {
    // A broken site setup script is a startup failure, with its own words.
    const setup = Deno.env.get(SETUP_ENV);
    const problem = setup
      ? await checkSetup(setup, {
        cwd: ctx.workdir,
        env: { HOME: ctx.workdir, PATH: "/usr/local/bin:/usr/bin:/bin" },
      })
      : undefined;
    if (problem) {
      await report("ERROR_A", problem);
      return { state: "ERROR_A", exitCode: 1, message: problem };
    }
    background(report("STARTED", "wrapper started"));
    try {
      await stageInputs(broker, jdl, ctx.workdir, ctx.log);
    } catch (e) {
      const msg = `input staging failed: ${(e as Error).message}`;
      await report("ERROR_IB", msg);
      return { state: "ERROR_IB", exitCode: 1, message: msg };
    }
    background(report("RUNNING", "payload started"));
    const result = await runPayload({ ...ctx, signal });
    // Every intermediate report has landed (or failed) before we go on.
    await chain;
    if (result.killReason !== undefined) {
      // Cancelled by the agent: it reports the kill, we only stop cleanly.
      return {
        state: "ERROR_E",
        exitCode: result.exitCode,
        killReason: result.killReason,
        message: result.message,
      };
    }
    const outputs = await collectOutputs(jdl, ctx.workdir);
    for (const r of outputs.refused) ctx.log(r.message);
    // Logs (and the archives, which usually hold them) go up even for a
    // failed job: that is what the user needs to debug it.
    const logsOf = async () => [
      ...outputs.logs,
      ...(await buildArchives(outputs.archives, ctx.workdir, ctx.log).catch(
        (e) => {
          ctx.log(`could not build archives: ${(e as Error).message}`);
          return [] as OutputItem[];
        },
      )),
    ];
    if (result.exitCode !== 0) {
      const msg = `payload exited with code ${result.exitCode}`;
      await uploadLogsBestEffort(ctx, broker, await logsOf());
      // A SIGKILL may be the container's OOM killer, which only the agent
      // can tell (oom_check.ts): it reports that death, as it does kills.
      if (!(result.exitCode === 137 && Deno.env.get(OOM_CHECK_ENV) === "1")) {
        await report("ERROR_E", msg, { exitCode: result.exitCode });
      }
      return { state: "ERROR_E", exitCode: result.exitCode, message: msg };
    }
    if (result.validation && result.validation !== "ok") {
      const state = result.validation;
      const msg = result.message ?? "validation failed";
      await uploadLogsBestEffort(ctx, broker, await logsOf());
      await report(state, msg, { exitCode: result.exitCode });
      return { state, exitCode: result.exitCode, message: msg };
    }
    await report("SAVING", "uploading outputs", { exitCode: 0 });
    if (outputs.refused.length > 0 || outputs.missing.length > 0) {
      const msg = outputProblems(outputs);
      await uploadLogsBestEffort(ctx, broker, await logsOf());
      await report("ERROR_S", msg, { exitCode: 0 });
      return { state: "ERROR_S", exitCode: 0, message: msg };
    }
    try {
      const archives = await buildArchives(
        outputs.archives,
        ctx.workdir,
        ctx.log,
      );
      await uploadOutputs(
        broker,
        start,
        [...outputs.files, ...outputs.logs, ...archives],
        ctx.log,
      );
    } catch (e) {
      const msg = `output upload failed: ${(e as Error).message}`;
      await report("ERROR_SV", msg, { exitCode: 0 });
      return { state: "ERROR_SV", exitCode: 0, message: msg };
    }
    await report("DONE", "job done", { exitCode: 0 });
    return { state: "DONE", exitCode: 0 };
  } finally {
    broker.close();
  }
}

/** The trace message for refused and missing outputs. */
function outputProblems(o: Awaited<ReturnType<typeof collectOutputs>>) {
  return [
    ...o.refused.map((r) => r.message),
    ...(o.missing.length > 0
      ? [`required output missing: ${o.missing.join(", ")}`]
      : []),
  ].join("; ");
}

async function uploadLogsBestEffort(
  ctx: JobContext,
  broker: BrokerClient,
  logs: { path: string; name: string }[],
) {
  try {
    await uploadOutputs(broker, ctx.start, logs, ctx.log);
  } catch (e) {
    ctx.log(`could not upload logs of the failed job: ${(e as Error).message}`);
  }
}

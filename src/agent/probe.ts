/**
 * The real runtime probe: start the wrapper's self-test inside the
 * runtime (image, binds, permissions and lease as for a job) and check
 * that it answers with frames. A `--version` would not show that jobs can
 * run.
 *
 * @module
 */
import type { ContainerDriver, ProbeResult } from "../container/driver.ts";
import {
  decodeJson,
  type EndMessage,
  FrameType,
  readFrames,
} from "../pipe/mod.ts";
import {
  buildLaunch,
  keepWrapperCache,
  type LaunchHold,
  type LaunchSoftware,
  prepareLaunch,
  type WrapperProgram,
} from "./wrapper_launch.ts";

import type { PayloadUser } from "../container/payload_user.ts";

let probeSeq = 0;

/** Options of {@link probeRuntime}. */
export interface ProbeOptions {
  /** The wrapper program. */
  program: WrapperProgram;
  /** Work root (the probe's sandbox is made below it). */
  workRoot: string;
  /** Broker `host:port`. */
  broker: string;
  /** Directory image jobs will use by default. @default host rootfs */
  image?: string;
  /** Software dir, as for jobs. @default none */
  software?: LaunchSoftware;
  /** Give up after this long, ms. @default 30000 */
  timeoutMs?: number;
  /**
   * Where to keep the wrapper cache the probe fills (relocating runtimes),
   * for jobs to start from. @default not kept
   */
  cacheDir?: string;
  /** The payload user jobs get with this runtime (same launch as a job). */
  payloadUser?: (driver: ContainerDriver) => PayloadUser | undefined;
}

/** Probes a runtime by running the wrapper's self-test inside it. */
export async function probeRuntime(
  driver: ContainerDriver,
  opts: ProbeOptions,
): Promise<ProbeResult> {
  const t0 = performance.now();
  const fail = (message: string): ProbeResult => ({
    ok: false,
    message: `${driver.name}: ${message}`,
    ms: performance.now() - t0,
  });
  const sandbox = `${opts.workRoot}/probe-${Deno.pid}-${++probeSeq}`;
  await Deno.mkdir(sandbox, { recursive: true, mode: 0o700 });
  let hold: LaunchHold | undefined;
  try {
    let launch;
    try {
      launch = buildLaunch({
        driver,
        program: opts.program,
        sandbox,
        broker: opts.broker,
        payload: () => [],
        image: driver.capabilities.directoryImages ? opts.image : undefined,
        software: opts.software,
        denoDir: `${opts.workRoot}/.deno`,
        extraArgs: ["--self-test"],
        wrapperCache: opts.cacheDir ? { mode: "fill" } : undefined,
        payloadUser: opts.payloadUser?.(driver),
      });
      hold = await prepareLaunch(driver, launch);
    } catch (e) {
      return fail((e as Error).message);
    }
    const [cmd, ...args] = launch.argv;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        env: launch.spec.env,
        clearEnv: true,
        cwd: launch.cwd ?? sandbox,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      return fail(`${cmd}: ${(e as Error).message}`);
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, opts.timeoutMs ?? 30000);
    let end: EndMessage | undefined;
    let err = "";
    const errText = new Response(child.stderr).text();
    try {
      for await (const f of readFrames(child.stdout)) {
        if (f.type === FrameType.End) end = decodeJson<EndMessage>(f);
      }
    } catch (e) {
      err = (e as Error).message;
    }
    const status = await child.status;
    clearTimeout(timer);
    const stderr = (await errText).trim().split("\n").slice(-2).join(" | ");
    if (status.success && end?.state === "DONE") {
      if (opts.cacheDir) {
        await keepWrapperCache(sandbox, opts.cacheDir).catch(() => {});
      }
      return {
        ok: true,
        message: `${driver.name}: wrapper self-test passed${
          launch.spec.image ? ` in image ${launch.spec.image}` : ""
        }`,
        ms: performance.now() - t0,
      };
    }
    return fail(
      `wrapper self-test failed (exit ${status.code}${err ? `, ${err}` : ""}${
        end?.message ? `, ${end.message}` : ""
      }${stderr ? `, stderr: ${stderr}` : ""})`,
    );
  } finally {
    await hold?.release();
    await Deno.remove(sandbox, { recursive: true }).catch(() => {});
  }
}

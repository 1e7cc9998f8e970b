/**
 * The real runtime probe: start the wrapper's self-test inside the
 * runtime (image, binds, permissions as for a job) and check that it
 * answers with frames. A `--version` would not show that jobs can run.
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
import { buildLaunch, type WrapperProgram } from "./wrapper_launch.ts";

let probeSeq = 0;

/** Probes a runtime by running the wrapper's self-test inside it. */
export async function probeRuntime(
  driver: ContainerDriver,
  opts: { program: WrapperProgram; workRoot: string; broker: string },
): Promise<ProbeResult> {
  const t0 = performance.now();
  const sandbox = `${opts.workRoot}/probe-${Deno.pid}-${++probeSeq}`;
  await Deno.mkdir(sandbox, { recursive: true });
  try {
    const launch = buildLaunch({
      driver,
      program: opts.program,
      sandbox,
      broker: opts.broker,
      payload: () => [],
      denoDir: `${opts.workRoot}/.deno`,
      extraArgs: ["--self-test"],
    });
    const [cmd, ...args] = launch.argv;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        env: launch.spec.env,
        clearEnv: true,
        cwd: sandbox,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      return {
        ok: false,
        message: `${cmd}: ${(e as Error).message}`,
        ms: performance.now() - t0,
      };
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
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
    const ok = status.success && end?.state === "DONE";
    return {
      ok,
      message: ok
        ? `${driver.name}: wrapper self-test passed`
        : `${driver.name}: wrapper self-test failed (exit ${status.code}${
          err ? `, ${err}` : ""
        }${stderr ? `, stderr: ${stderr}` : ""})`,
      ms: performance.now() - t0,
    };
  } finally {
    await Deno.remove(sandbox, { recursive: true }).catch(() => {});
  }
}

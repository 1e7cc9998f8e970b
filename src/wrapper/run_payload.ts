/**
 * Runs the payload (and its validation command) in the sandbox.
 *
 * The payload gets a clean environment, its own process group, stdout and
 * stderr to files in the sandbox (tails forwarded as `log` frames), and is
 * stopped with SIGTERM → grace → SIGKILL of its whole group on `cancel`.
 *
 * @module
 */
import { FrameType } from "../pipe/mod.ts";
import type { CancelMessage } from "../protocol/mod.ts";
import {
  groupKillArgs,
  KILL_PROGRAM,
  resolveProgram,
  spawnArgv,
} from "../protocol/programs.ts";
import { SETUP_ENV, setupArgv } from "../container/setup_script.ts";
import {
  dropArgv,
  jailArgv,
  PAYLOAD_JAIL_ENV,
  PAYLOAD_USER_ENV,
  payloadUserFromEnv,
  shareStaged,
} from "../container/payload_user.ts";
import {
  HELD_OUTPUT_GRACE_MS,
  readUntil,
  settlesWithin,
} from "./held_output.ts";

/**
 * The argv through the site's setup script, when the launch names one,
 * run as the payload user when the launch names one (`payload_user.ts`).
 */
function withSetup(argv: string[]): string[] {
  const setup = Deno.env.get(SETUP_ENV);
  const full = setup ? setupArgv(setup, argv) : argv;
  const user = payloadUserFromEnv(Deno.env.get(PAYLOAD_USER_ENV));
  if (user) return dropArgv(user, full);
  return Deno.env.get(PAYLOAD_JAIL_ENV) === "1" ? jailArgv(full) : full;
}
import type { JobContext } from "./job_runner.ts";

/** Outcome of the payload (and validation). */
export interface PayloadResult {
  /** Exit code (128 + signal when killed by a signal). */
  exitCode: number;
  /** Set when it was cancelled. */
  killReason?: number;
  /** `ok`, or the validation error state. */
  validation?: "ok" | "ERROR_V" | "ERROR_VN" | "ERROR_VT";
  /** Detail. */
  message?: string;
}

/** How long the validation command may run. */
const VALIDATION_TIMEOUT_MS = 10 * 60 * 1000;

function exitCodeOf(status: Deno.CommandStatus): number {
  if (status.signal) {
    const n = Deno.build.os === "linux"
      ? ({
        SIGKILL: 9,
        SIGTERM: 15,
        SIGINT: 2,
        SIGSEGV: 11,
        SIGABRT: 6,
      } as Record<string, number>)[status.signal] ?? 1
      : 1;
    return 128 + n;
  }
  return status.code;
}

async function signalGroup(pid: number, signal: "TERM" | "KILL") {
  try {
    await new Deno.Command(KILL_PROGRAM, {
      args: groupKillArgs(signal, pid),
      stdout: "null",
      stderr: "null",
      clearEnv: true,
    }).output();
  } catch { /* group already gone */ }
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  path: string,
  ctx: JobContext,
  name: "stdout" | "stderr",
  stop: AbortSignal,
) {
  const file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o644,
  });
  const decoder = new TextDecoder();
  let partial = "";
  let pending: string[] = [];
  let lastSent = 0;
  // Lines that arrive within 500 ms of the last send go out with a timer,
  // so a payload that prints and then goes quiet is still seen live.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const lines = pending.slice(-50);
    pending = [];
    lastSent = Date.now();
    ctx.out.send(FrameType.Log, { stream: name, lines }).catch(() => {});
  };
  try {
    for await (const chunk of readUntil(stream, stop)) {
      let off = 0;
      while (off < chunk.byteLength) {
        off += await file.write(chunk.subarray(off));
      }
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      // Lines are forwarded cut to 1000 characters: a payload that never
      // writes a newline must not grow the wrapper's memory with it.
      partial = (lines.pop() ?? "").slice(0, 1000);
      pending.push(...lines.map((l) => l.slice(0, 1000)));
      if (pending.length > 200) pending = pending.slice(-50);
      if (Date.now() - lastSent > 500) flush();
      else if (pending.length > 0 && timer === undefined) {
        timer = setTimeout(flush, 500 - (Date.now() - lastSent));
      }
    }
    if (partial) pending.push(partial.slice(0, 1000));
    flush();
  } finally {
    clearTimeout(timer);
    file.close();
  }
}

/** Runs the payload, then the validation command if the JDL has one. */
export async function runPayload(ctx: JobContext): Promise<PayloadResult> {
  const { jdl, workdir, start } = ctx;
  const program = resolveProgram(jdl.executable, jdl, workdir);
  if (program.startsWith(workdir + "/")) {
    try {
      await Deno.chmod(program, 0o755);
    } catch (e) {
      return {
        exitCode: 127,
        message: `executable ${jdl.executable} not staged: ${
          (e as Error).message
        }`,
      };
    }
  }
  const env: Record<string, string> = {
    HOME: workdir,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    TMPDIR: "/tmp",
    LANG: "C.UTF-8",
    ALIEN_PROC_ID: start.jobId,
    ALIEN_JOB_ID: start.jobId,
    ALIEN_USER: start.user,
    ALIEN_SITE: String(start.siteMap.site ?? ""),
    ALIEN_CE: String(start.siteMap.ce ?? ""),
    JALIEN_RESUBMISSION: String(start.resubmission),
    ...start.env,
  };
  if (Deno.env.get(PAYLOAD_USER_ENV)) await shareStaged(workdir);
  let child: Deno.ChildProcess;
  const [cmd, ...cmdArgs] = withSetup(
    spawnArgv(program, jdl.arguments, workdir),
  );
  try {
    child = new Deno.Command(cmd, {
      args: cmdArgs,
      cwd: workdir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (e) {
    return {
      exitCode: 127,
      message: `could not start ${program}: ${(e as Error).message}`,
    };
  }
  let killReason: number | undefined;
  let killMessage: string | undefined;
  const onCancel = async () => {
    const c = ctx.signal.reason as CancelMessage;
    killReason = c.reason;
    killMessage = c.message;
    ctx.log(
      `cancel (reason ${c.reason}): ${c.message}; SIGTERM to the payload`,
    );
    await signalGroup(child.pid, "TERM");
    const t = setTimeout(
      () => signalGroup(child.pid, "KILL"),
      Math.max(0, c.graceMs / 2),
    );
    child.status.finally(() => clearTimeout(t));
  };
  if (ctx.signal.aborted) onCancel();
  else ctx.signal.addEventListener("abort", onCancel, { once: true });
  const stopPumps = new AbortController();
  const pumps = Promise.all([
    pump(child.stdout, `${workdir}/stdout`, ctx, "stdout", stopPumps.signal),
    pump(child.stderr, `${workdir}/stderr`, ctx, "stderr", stopPumps.signal),
  ]);
  const status = await child.status;
  ctx.signal.removeEventListener("abort", onCancel);
  if (!(await settlesWithin(pumps, HELD_OUTPUT_GRACE_MS))) {
    ctx.log(
      `the payload exited, but leftover processes kept its output open for ${
        HELD_OUTPUT_GRACE_MS / 1000
      } s: killing them`,
    );
    await signalGroup(child.pid, "KILL");
    stopPumps.abort();
    // A read blocked on a pipe that a process outside the group still
    // holds may not return even when cancelled: never wait on it again.
    await settlesWithin(pumps, 2000);
  } else await pumps.catch(() => {});
  // Reap anything the payload left behind in its group.
  await signalGroup(child.pid, "KILL");
  const exitCode = exitCodeOf(status);
  if (killReason !== undefined) {
    return { exitCode, killReason, message: killMessage };
  }
  if (exitCode !== 0 || !jdl.validationCommand) return { exitCode };
  return { exitCode, ...(await validate(ctx, env)) };
}

async function validate(
  ctx: JobContext,
  env: Record<string, string>,
): Promise<Pick<PayloadResult, "validation" | "message">> {
  const program = resolveProgram(
    ctx.jdl.validationCommand!,
    ctx.jdl,
    ctx.workdir,
  );
  if (program.startsWith(ctx.workdir + "/")) {
    await Deno.chmod(program, 0o755).catch(() => {});
  }
  let child: Deno.ChildProcess;
  const [cmd, ...cmdArgs] = withSetup(spawnArgv(program, [], ctx.workdir));
  try {
    child = new Deno.Command(cmd, {
      args: cmdArgs,
      cwd: ctx.workdir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  } catch (e) {
    return {
      validation: "ERROR_VN",
      message: `validation command could not start: ${(e as Error).message}`,
    };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child.pid, "KILL");
  }, VALIDATION_TIMEOUT_MS);
  const status = await child.status;
  clearTimeout(timer);
  if (timedOut) {
    return { validation: "ERROR_VT", message: "validation timed out" };
  }
  if (!status.success) {
    return {
      validation: "ERROR_V",
      message: `validation exited with code ${exitCodeOf(status)}`,
    };
  }
  return { validation: "ok" };
}

/**
 * The wrapper process: hello → wait for `start` → run the job → `end`.
 *
 * stdout carries frames only; every log line goes to stderr (and, as
 * `log` frames, to the agent). When stdin closes the agent is gone: the
 * wrapper keeps going with the current job and reports to the broker on
 * its own.
 *
 * @module
 */
import { parseWrapperFlags } from "./_flags.ts";
import { parseJdl } from "../jdl/mod.ts";
import {
  decodeJson,
  FrameType,
  FrameWriter,
  PROTOCOL_VERSION,
  readFrames,
  readFrameWithTimeout,
} from "../pipe/mod.ts";
import type {
  CancelMessage,
  EndMessage,
  StartMessage,
} from "../protocol/mod.ts";
import { checkSetup, SETUP_ENV } from "../container/setup_script.ts";
import { runJob } from "./job_runner.ts";
import { RelayClient } from "./relay_client.ts";

/** The wrapper's name and version in `hello`. */
export const WRAPPER_PROGRAM = "splitpilot-wrapper 0.1.0";

/**
 * Runs the wrapper (`wrapper.ts`): sends `hello`, waits for `start`, runs
 * the job with {@link runJob} and ends with an `end` frame; returns the
 * process exit code. Its stdin and stdout carry frames only.
 *
 * @example
 * ```ts ignore
 * // wrapper.ts, spawned by the agent with stdin/stdout piped:
 * import { wrapperMain } from "./src/wrapper/main.ts";
 * Deno.exit(await wrapperMain(["--workdir", "/workdir"]));
 * ```
 */
export async function wrapperMain(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseWrapperFlags(args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const out = new FrameWriter(Deno.stdout.writable);
  const log = (line: string) => {
    // One line each, whatever a file name holds: the agent reads the
    // permission audit's records from this same stream (audit_sink.ts).
    console.error(`[wrapper ${new Date().toISOString()}] ${oneLine(line)}`);
    out.send(FrameType.Log, { stream: "wrapper", lines: [line] }).catch(
      () => {},
    );
  };
  await out.send(FrameType.Hello, {
    version: PROTOCOL_VERSION,
    pid: Deno.pid,
    program: WRAPPER_PROGRAM,
  });
  if (flags.selfTest) {
    // The container probe: we started, can write frames and see /workdir.
    const workdir = flags.workdir ?? ".";
    const seen = (await Deno.stat(workdir).catch(() => undefined))?.isDirectory;
    const setup = Deno.env.get(SETUP_ENV);
    const problem = !seen
      ? `workdir ${workdir} not visible`
      : setup
      ? await checkSetup(setup, { cwd: workdir })
      : undefined;
    const ok = problem === undefined;
    await out.send(
      FrameType.End,
      {
        state: ok ? "DONE" : "ERROR_A",
        exitCode: ok ? 0 : 1,
        message: problem ?? "self-test ok",
      } satisfies EndMessage,
    );
    await out.close();
    return ok ? 0 : 1;
  }
  const workdir = flags.workdir;
  if (!workdir) {
    log("error: --workdir DIR is required");
    return 2;
  }
  const frames = readFrames(Deno.stdin.readable);
  const timeout = Number(flags.startTimeout ?? 30000);
  const first = await readFrameWithTimeout(frames, timeout, "start").catch(
    (e) => {
      log(`error: ${(e as Error).message}`);
      return undefined;
    },
  );
  if (!first || first.type !== FrameType.Start) {
    log(`error: expected a start frame first, got ${first?.type ?? "nothing"}`);
    await out.close().catch(() => {});
    return 2;
  }
  const start = decodeJson<StartMessage>(first);
  // Broker calls as frames to the agent: we have no network (README,
  // "Threat model").
  const relay = start.relay ? new RelayClient(out) : undefined;
  const abort = new AbortController();
  // After our `end` the agent closes our stdin: that EOF is no news.
  let ended = false;
  // Keep reading: cancel frames, or EOF when the agent goes away.
  (async () => {
    try {
      for (let f = await frames.next(); !f.done; f = await frames.next()) {
        if (relay?.handle(f.value)) continue;
        if (f.value.type === FrameType.Cancel) {
          abort.abort(decodeJson<CancelMessage>(f.value));
        }
      }
      if (!ended) {
        log(
          relay
            ? "stdin closed: agent gone, broker calls fail from now on"
            : "stdin closed: agent gone, finishing the job on our own",
        );
      }
    } catch (e) {
      log(`protocol error on stdin: ${(e as Error).message}`);
    }
    relay?.close();
  })();
  let end: EndMessage;
  try {
    const jdl = parseJdl(start.jdl, { strict: false });
    end = await runJob({
      start,
      jdl,
      workdir,
      out,
      signal: abort.signal,
      log,
      transport: relay?.fetch,
    });
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    end = { state: "ERROR_E", exitCode: 1, message: (e as Error).message };
  }
  ended = true;
  await out.send(FrameType.End, end).catch(() => {});
  await out.close().catch(() => {});
  return 0;
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** `line` with control characters (tab aside) as `\xNN`. */
function oneLine(line: string): string {
  return line.replace(
    CONTROL_CHARS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

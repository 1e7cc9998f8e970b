/**
 * The wrapper as a child process of the agent: spawned from its launch
 * (clean environment, piped stdio, its own process group when the runtime
 * has no pid namespace), with its stderr passed on to the agent's (control
 * bytes escaped) and the last 4 KiB kept to say why a wrapper never started.
 *
 * @module
 */
import type { Launch } from "./wrapper_launch.ts";
import { finalVerdict, pumpStderr, sinkFor } from "./audit_sink.ts";
import type { AuditVerdict } from "../protocol/audit_verdict.ts";
import { escapeControl } from "./log_escape.ts";

/** A spawned wrapper. */
export interface WrapperProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** Settles when its stderr closed. */
  stderrDone: Promise<void>;
  /** The end of its stderr so far (e.g. "bwrap: Can't mkdir /proc"). */
  stderrTail(): string;
  /** Whether its permission audit stream is checked (on its stderr). */
  audited: boolean;
  /**
   * The permission audit of the process's life so far (`undefined` for a
   * launch without a table); call it once the process is over.
   */
  auditVerdict(): Promise<AuditVerdict | undefined>;
}

/**
 * Spawns the wrapper of `launch` in `sandbox` (or the launch's own cwd);
 * throws when the program cannot be started.
 *
 * @example
 * ```ts ignore
 * const w = spawnWrapper(launch, sandbox, !driver.capabilities.pidNamespace);
 * const status = await w.child.status;
 * ```
 */
export function spawnWrapper(
  launch: Launch,
  sandbox: string,
  groupKill: boolean,
): WrapperProcess {
  const [program, ...args] = launch.argv;
  const child = new Deno.Command(program, {
    args,
    env: launch.spec.env,
    clearEnv: true,
    // Container runtimes start in the sandbox's parent (see Launch.cwd).
    cwd: launch.cwd ?? sandbox,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: groupKill,
  }).spawn();
  // The launcher's and wrapper's stderr go on to ours, control bytes
  // escaped (a runtime's colours, or bytes the payload got there); the
  // tail says why a wrapper never started. The permission audit's records
  // come on the same pipe (audit_sink.ts): one sink per process, for its
  // whole life.
  let errTail = "";
  let ended = false;
  const sink = sinkFor(launch);
  const enc = new TextEncoder();
  const stderrDone = pumpStderr(child.stderr, sink, async (text) => {
    const safe = text.split("\n").map(escapeControl).join("\n");
    await Deno.stderr.write(enc.encode(safe)).catch(() => 0);
    errTail = (errTail + text).slice(-4096);
  }).then(() => {
    ended = true;
  }, () => {});
  return {
    child,
    stderrDone,
    stderrTail: () => errTail,
    audited: sink !== undefined,
    auditVerdict: () => finalVerdict(launch, sink, ended),
  };
}

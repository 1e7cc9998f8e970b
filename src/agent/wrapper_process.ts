/**
 * The wrapper as a child process of the agent: spawned from its launch
 * (clean environment, piped stdio, its own process group when the runtime
 * has no pid namespace), with its stderr passed on to the agent's and the
 * last 4 KiB kept to say why a wrapper never started.
 *
 * @module
 */
import type { Launch } from "./wrapper_launch.ts";

/** A spawned wrapper. */
export interface WrapperProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** Settles when its stderr closed. */
  stderrDone: Promise<void>;
  /** The end of its stderr so far (e.g. "bwrap: Can't mkdir /proc"). */
  stderrTail(): string;
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
  // The launcher's and wrapper's stderr go on to ours; the tail says why
  // a wrapper never started.
  let errTail = "";
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      await Deno.stderr.write(chunk).catch(() => 0);
      errTail = (errTail + dec.decode(chunk, { stream: true })).slice(-4096);
    }
  })().catch(() => {});
  return { child, stderrDone, stderrTail: () => errTail };
}

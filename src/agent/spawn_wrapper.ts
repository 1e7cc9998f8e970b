/**
 * Spawning a wrapper process from its {@link Launch}: the one place that
 * says how (clean environment, piped stdio, the launcher's cwd, its own
 * process group where kills go to the group), for cold starts in
 * `run_wrapper.ts` and pre-started wrappers in `warm_pool.ts` alike.
 *
 * @module
 */
import type { Launch } from "./wrapper_launch.ts";

/** Spawns the wrapper of `launch` for the job sandbox `sandbox`. */
export function spawnWrapper(
  launch: Launch,
  sandbox: string,
  groupKill: boolean,
): Deno.ChildProcess {
  const [program, ...args] = launch.argv;
  return new Deno.Command(program, {
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
}

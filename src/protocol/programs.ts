/**
 * Which programs a job runs, computed the same way by the agent (to grant
 * `--allow-run` to exactly these) and by the wrapper (to run them), and
 * the file through which a built wrapper learns that list.
 *
 * @module
 */
import type { JobDescription } from "../jdl/mod.ts";

/**
 * Where the agent hands a built wrapper its `--allow-run` list, relative to
 * the sandbox: one line of JSON, an array of plain absolute paths (see
 * `src/build/allow_run_list.ts`; no value can add a line or an entry).
 */
export const ALLOW_RUN_FILE = ".splitpilot/allow-run";

/**
 * The program used to signal a process group. Not `/bin/kill`: procps-ng
 * 4.0.2 reads `-- -N` for N ≤ 64 as a signal number, and inside a pid
 * namespace the payload's group ID is that small. The shell's built-in
 * `kill` has no such bug. See {@link groupKillArgs}.
 */
export const KILL_PROGRAM = "/bin/sh";

/** Arguments for {@link KILL_PROGRAM} to send `signal` to group `pgid`. */
export function groupKillArgs(signal: string, pgid: number): string[] {
  return ["-c", 'kill -s "$1" -- "-$2"', "sh", signal, String(pgid)];
}

/**
 * The exec shim for programs staged into the sandbox. Deno refuses to
 * write a file that is on the `--allow-run` list (so a process cannot
 * plant a program and then run it), and the wrapper must write the staged
 * executable; so a staged program runs as `/usr/bin/env <path> args…`.
 * This grants no more than the payload itself has: arbitrary code inside
 * the container, which is what the container is for.
 */
export const EXEC_SHIM = "/usr/bin/env";

/** Whether `program` (as resolved) lives in the sandbox. */
export function isStaged(program: string, workdir: string): boolean {
  return program.startsWith(workdir + "/");
}

/** The argv to spawn `program` with `args` (shim for staged programs). */
export function spawnArgv(
  program: string,
  args: string[],
  workdir: string,
): string[] {
  return isStaged(program, workdir)
    ? [EXEC_SHIM, program, ...args]
    : [program, ...args];
}

/**
 * Resolves a JDL program name: an absolute path is used as is (a path
 * inside the container); a bare name must be a staged input and runs from
 * the sandbox.
 */
export function resolveProgram(
  name: string,
  jdl: JobDescription,
  workdir: string,
): string {
  if (name.startsWith("/")) {
    const staged = [...jdl.inputFile, ...jdl.inputData].some((lfn) =>
      lfn === name
    );
    return staged
      ? `${workdir}/${name.slice(name.lastIndexOf("/") + 1)}`
      : name;
  }
  return `${workdir}/${name}`;
}

/** Programs the wrapper may start for `jdl` (its `--allow-run` list). */
export function payloadPrograms(
  jdl: JobDescription,
  workdir: string,
): string[] {
  const names = [jdl.executable];
  if (jdl.validationCommand) names.push(jdl.validationCommand);
  const programs = names.map((n) => {
    const p = resolveProgram(n, jdl, workdir);
    return isStaged(p, workdir) ? EXEC_SHIM : p;
  });
  programs.push(KILL_PROGRAM);
  return [...new Set(programs)];
}

/**
 * `splitpilot kill ID`: kills a job (state KILLED, kill reason 30). A
 * waiting job never starts; a running one is cancelled by its agent at the
 * next heartbeat.
 *
 * ```sh
 * splitpilot kill 42          # prints: job 42: killed, now KILLED
 * splitpilot kill 42 --json   # {"jobId":"42","state":"KILLED"}
 * ```
 *
 * Exit codes: 0 killed, 1 failure, 2 bad usage, 3 no such job or not yours,
 * 4 the job is already in a final state.
 *
 * @module
 */
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";
import { jobActionMain } from "./job_action.ts";

/** Usage text. */
export const KILL_USAGE =
  `usage: splitpilot kill ID [--json] [--broker URL] [--token DIR]
  kills a job: KILLED, kill reason 30; a running wrapper is cancelled at
  its agent's next heartbeat
${COMMON_FLAGS}
examples:
  splitpilot kill 42
  splitpilot kill 42 --json   # {"jobId":"42","state":"KILLED"}`;

/**
 * Runs `kill ID`: the job ends KILLED and its wrapper is cancelled
 * (kill reason 30). Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./kill_cmd.ts";
 * Deno.exit(await main(["42"]));
 * ```
 */
export function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  return jobActionMain(args, io, {
    action: "kill",
    verb: "killed",
    usage: KILL_USAGE,
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * `splitpilot resubmit ID`: puts a failed, expired or zombie job back in
 * the queue (state WAITING; the next attempt gets a fresh job token).
 *
 * ```sh
 * splitpilot resubmit 42          # prints: job 42: resubmitted, now WAITING
 * splitpilot resubmit 42 --json   # {"jobId":"42","state":"WAITING"}
 * ```
 *
 * Exit codes: 0 resubmitted, 1 failure, 2 bad usage, 3 no such job or not
 * yours, 4 the job is not in a state that can be resubmitted (waiting,
 * running, done or killed).
 *
 * @module
 */
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";
import { jobActionMain } from "./job_action.ts";

/** Usage text. */
export const RESUBMIT_USAGE =
  `usage: splitpilot resubmit ID [--json] [--broker URL] [--token DIR]
  puts a failed (ERROR_*), expired, zombie or killed job back to WAITING:
  a new attempt with a new job token; DONE jobs cannot be resubmitted
${COMMON_FLAGS}
examples:
  splitpilot resubmit 42
  splitpilot resubmit 42 --json   # {"jobId":"42","state":"WAITING"}`;

/**
 * Runs `resubmit ID`: puts a failed job back in the queue with a fresh
 * attempt. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./resubmit_cmd.ts";
 * Deno.exit(await main(["42"]));
 * ```
 */
export function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  return jobActionMain(args, io, {
    action: "resubmit",
    verb: "resubmitted",
    usage: RESUBMIT_USAGE,
  });
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

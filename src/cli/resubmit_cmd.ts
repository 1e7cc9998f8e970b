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
import { parseArgs } from "../std/cli.ts";
import { type CliIo, CONSOLE_IO } from "./ca_cmd.ts";
import { COMMON_FLAGS, connect, fail, jobIdArg } from "./_user_cli.ts";

/** Usage text. */
export const RESUBMIT_USAGE =
  `usage: splitpilot resubmit ID [--json] [--broker URL] [--token DIR]
${COMMON_FLAGS}`;

/** Runs `resubmit <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let client;
  try {
    const flags = parseArgs(args, {
      string: ["broker", "token"],
      boolean: ["json", "help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(RESUBMIT_USAGE);
      return 0;
    }
    const id = jobIdArg(flags._, RESUBMIT_USAGE);
    client = await connect(flags);
    const out = (await client.json<{ jobId: string; state: string }>(
      "POST",
      `/api/v1/jobs/${id}/resubmit`,
      {},
    ))!;
    io.out(
      flags.json
        ? JSON.stringify({ jobId: out.jobId, state: out.state })
        : `job ${out.jobId}: resubmitted, now ${out.state}`,
    );
    return 0;
  } catch (e) {
    return fail(io, e, RESUBMIT_USAGE);
  } finally {
    client?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

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
import { parseArgs } from "../std/cli.ts";
import { type CliIo, CONSOLE_IO } from "./ca_cmd.ts";
import { COMMON_FLAGS, connect, fail, jobIdArg } from "./_user_cli.ts";

/** Usage text. */
export const KILL_USAGE =
  `usage: splitpilot kill ID [--json] [--broker URL] [--token DIR]
${COMMON_FLAGS}`;

/** Runs `kill <args>`; returns the exit code. */
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
      io.out(KILL_USAGE);
      return 0;
    }
    const id = jobIdArg(flags._, KILL_USAGE);
    client = await connect(flags);
    const out = (await client.json<{ jobId: string; state: string }>(
      "POST",
      `/api/v1/jobs/${id}/kill`,
      {},
    ))!;
    io.out(
      flags.json
        ? JSON.stringify({ jobId: out.jobId, state: out.state })
        : `job ${out.jobId}: killed, now ${out.state}`,
    );
    return 0;
  } catch (e) {
    return fail(io, e, KILL_USAGE);
  } finally {
    client?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

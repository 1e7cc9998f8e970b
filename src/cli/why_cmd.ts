/**
 * `splitpilot why ID`: why a waiting job has not been matched: the first
 * of its requirements that no agent asking for work in the last hour met.
 *
 * ```sh
 * splitpilot why 42
 * # job 42 (WAITING): other.GridPartitions: no agent in the last hour advertised it …
 * splitpilot why 42 --json   # {"jobId":"42","state":"WAITING","why":"…"}
 * ```
 *
 * Exit codes: 0 answered, 1 failure, 2 bad usage, 3 no such job or not
 * yours.
 *
 * @module
 */
import { COMMON_FLAGS, jobIdArg } from "./_user_cli.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const WHY_USAGE =
  `usage: splitpilot why ID [--json] [--broker URL] [--token DIR]
${COMMON_FLAGS}
examples:
  splitpilot why 43          # e.g. other.GridPartitions: no agent in the last hour advertised it
  splitpilot why 43 --json`;

/** Runs `why <args>`; returns the exit code. */
export const main: CommandMain = userCommand({
  usage: WHY_USAGE,
  async run({ flags, io, connect }) {
    const id = jobIdArg(flags._, WHY_USAGE);
    const client = await connect();
    const out = (await client.json<
      { jobId: string; state: string; why?: string }
    >("GET", `/api/v1/jobs/${id}/why`))!;
    if (flags.json) io.out(JSON.stringify(out));
    else {
      io.out(
        `job ${out.jobId} (${out.state}): ${
          out.why ?? "not waiting, nothing blocks it"
        }`,
      );
    }
    return 0;
  },
});

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

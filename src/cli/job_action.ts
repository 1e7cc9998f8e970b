/**
 * The one-job action commands (`kill`, `resubmit`): `ID [--json]`, a POST
 * to `/api/v1/jobs/<id>/<action>`, the new state printed.
 *
 * @module
 */
import type { CliIo } from "./cli_io.ts";
import { jobIdArg } from "./_user_cli.ts";
import { userCommand } from "./user_command.ts";

/**
 * The body of a one-job action command (`kill`, `resubmit`): parse
 * `ID [--json]`, POST `/api/v1/jobs/<id>/<action>`, print the new state.
 */
export function jobActionMain(
  args: string[],
  io: CliIo,
  spec: { action: string; verb: string; usage: string },
): Promise<number> {
  return userCommand({
    usage: spec.usage,
    async run({ flags, io, connect }) {
      const id = jobIdArg(flags._, spec.usage);
      const client = await connect();
      const out = (await client.json<{ jobId: string; state: string }>(
        "POST",
        `/api/v1/jobs/${id}/${spec.action}`,
        {},
      ))!;
      io.out(
        flags.json
          ? JSON.stringify({ jobId: out.jobId, state: out.state })
          : `job ${out.jobId}: ${spec.verb}, now ${out.state}`,
      );
    },
  })(args, io);
}

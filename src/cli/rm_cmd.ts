/**
 * `splitpilot rm LFN...`: removes files from your tree.
 *
 * ```sh
 * splitpilot rm /jdoe/demo/input.txt
 * splitpilot rm /jdoe/jobs/42/big.bin --json   # {"removed":["/jdoe/jobs/42/big.bin"]}
 * ```
 *
 * Exit codes: 0 removed, 1 failure, 2 bad usage, 3 no such file or not
 * yours (the files before it are removed; the message names the one).
 *
 * @module
 */
import { UsageError } from "./cli_io.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";
import { encodeLfn } from "../client/broker_client.ts";
import { lfnArg } from "./transfer.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const RM_USAGE =
  `usage: splitpilot rm LFN... [--json] [--broker URL] [--token DIR]
  LFN            a file in your tree, e.g. /jdoe/demo/input.txt
${COMMON_FLAGS}
examples:
  splitpilot rm /jdoe/demo/input.txt
  splitpilot rm /jdoe/demo/a.txt /jdoe/demo/b.txt`;

/** Runs `rm <args>`; returns the exit code. */
export const main: CommandMain = userCommand({
  usage: RM_USAGE,
  async run({ flags, io, json, connect }) {
    if (flags._.length === 0) throw new UsageError("missing LFN");
    const lfns = flags._.map(lfnArg);
    const client = await connect();
    const removed: string[] = [];
    for (const lfn of lfns) {
      await client.request("DELETE", `/api/v1/files${encodeLfn(lfn)}`, {
        retry: false,
      });
      removed.push(lfn);
      if (!json) io.out(`removed ${lfn}`);
    }
    if (json) io.out(JSON.stringify({ removed }));
  },
});

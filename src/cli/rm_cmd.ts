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
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { COMMON_FLAGS, connect, USER_FLAGS } from "./_user_cli.ts";
import { encodeLfn } from "../client/broker_client.ts";
import { lfnArg } from "./transfer.ts";

/** Usage text. */
export const RM_USAGE =
  `usage: splitpilot rm LFN... [--json] [--broker URL] [--token DIR]
  LFN            a file in your tree, e.g. /jdoe/demo/input.txt
${COMMON_FLAGS}
examples:
  splitpilot rm /jdoe/demo/input.txt
  splitpilot rm /jdoe/demo/a.txt /jdoe/demo/b.txt`;

/** Runs `rm <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let client;
  const json = wantsJson(args);
  const removed: string[] = [];
  try {
    const flags = parseFlags(args, { ...USER_FLAGS });
    if (flags.help) {
      io.out(RM_USAGE);
      return 0;
    }
    if (flags._.length === 0) throw new UsageError("missing LFN");
    const lfns = flags._.map(lfnArg);
    client = await connect(flags);
    for (const lfn of lfns) {
      await client.request("DELETE", `/api/v1/files${encodeLfn(lfn)}`, {
        retry: false,
      });
      removed.push(lfn);
      if (!json) io.out(`removed ${lfn}`);
    }
    if (json) io.out(JSON.stringify({ removed }));
    return 0;
  } catch (e) {
    return fail(io, e, { usage: RM_USAGE, json });
  } finally {
    client?.close();
  }
}

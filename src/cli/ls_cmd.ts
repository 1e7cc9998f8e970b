/**
 * `splitpilot ls [LFN]`: lists your files (default: your whole tree,
 * `/<user>/`), or those under a prefix.
 *
 * ```sh
 * splitpilot ls
 * splitpilot ls /jdoe/demo/ --json   # {"files":[{lfn,size,sha256,...}]}
 * ```
 *
 * Exit codes: 0 listed, 1 failure, 2 bad usage, 3 not your tree.
 *
 * @module
 */
import { UsageError } from "./cli_io.ts";
import { COMMON_FLAGS, formatBytes, table } from "./_user_cli.ts";
import { type FileView, lfnArg } from "./transfer.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const LS_USAGE =
  `usage: splitpilot ls [LFN] [--json] [--broker URL] [--token DIR]
  LFN            a prefix, e.g. /jdoe/demo/ (default: your whole tree)
${COMMON_FLAGS}
examples:
  splitpilot ls
  splitpilot ls /jdoe/jobs/42/`;

/** Runs `ls <args>`; returns the exit code. */
export const main: CommandMain = userCommand({
  usage: LS_USAGE,
  async run({ flags, io, json, connect }) {
    const [prefix, extra] = flags._;
    if (extra !== undefined) {
      throw new UsageError(`unexpected argument "${extra}"`);
    }
    const q = prefix === undefined
      ? ""
      : `?prefix=${encodeURIComponent(lfnArg(prefix))}`;
    const client = await connect();
    const out = (await client.json<{ files: FileView[] }>(
      "GET",
      `/api/v1/files${q}`,
    ))!;
    if (json) io.out(JSON.stringify({ files: out.files }));
    else if (out.files.length === 0) {
      io.out(`no files under ${prefix ?? "your tree"}`);
    } else {
      for (
        const line of table(
          ["LFN", "SIZE", "SHA-256"],
          out.files.map((f) => [f.lfn, formatBytes(f.size), f.sha256]),
        )
      ) io.out(line);
    }
    return 0;
  },
});

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
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import {
  COMMON_FLAGS,
  connect,
  formatBytes,
  table,
  USER_FLAGS,
} from "./_user_cli.ts";
import { type FileView, lfnArg } from "./transfer.ts";

/** Usage text. */
export const LS_USAGE =
  `usage: splitpilot ls [LFN] [--json] [--broker URL] [--token DIR]
  LFN            a prefix, e.g. /jdoe/demo/ (default: your whole tree)
${COMMON_FLAGS}
examples:
  splitpilot ls
  splitpilot ls /jdoe/jobs/42/`;

/** Runs `ls <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let client;
  const json = wantsJson(args);
  try {
    const flags = parseFlags(args, { ...USER_FLAGS, alias: { h: "help" } });
    if (flags.help) {
      io.out(LS_USAGE);
      return 0;
    }
    const [prefix, extra] = flags._;
    if (extra !== undefined) {
      throw new UsageError(`unexpected argument "${extra}"`);
    }
    const q = prefix === undefined
      ? ""
      : `?prefix=${encodeURIComponent(lfnArg(prefix))}`;
    client = await connect(flags);
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
  } catch (e) {
    return fail(io, e, { usage: LS_USAGE, json });
  } finally {
    client?.close();
  }
}

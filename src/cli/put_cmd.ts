/**
 * `splitpilot put LOCAL LFN`: uploads a local file into your tree
 * (`/<user>/…`), for a JDL's `InputFile = {"LF:/<user>/…"}`. The file's
 * SHA-256 goes with it: the broker refuses a body that does not match, and
 * the answer is checked too. Files of 1 MiB or more show progress.
 *
 * ```sh
 * splitpilot put input.txt /jdoe/demo/input.txt
 * splitpilot put analyse.sh /jdoe/demo/     # LFN ending in / keeps the name
 * ```
 *
 * Exit codes: 0 uploaded, 1 failure, 2 bad usage, 3 the local file is
 * missing or the LFN is not in your tree.
 *
 * @module
 */
import { CliFailure, EXIT, UsageError } from "./cli_io.ts";
import { COMMON_FLAGS, formatBytes } from "./_user_cli.ts";
import { lfnArg, uploadFile } from "./transfer.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const PUT_USAGE =
  `usage: splitpilot put LOCAL LFN [--json] [--broker URL] [--token DIR]
  LOCAL          a local file
  LFN            where it goes in your tree, e.g. /jdoe/demo/input.txt
                 (ending in /: the local file's name is kept)
${COMMON_FLAGS}
examples:
  splitpilot put input.txt /jdoe/demo/input.txt
  splitpilot put analyse.sh /jdoe/demo/`;

/** Runs `put <args>`; returns the exit code. */
export const main: CommandMain = userCommand({
  usage: PUT_USAGE,
  async run({ flags, io, json, connect }) {
    const [local, target, extra] = flags._;
    if (local === undefined || target === undefined) {
      throw new UsageError("expected LOCAL and LFN");
    }
    if (extra !== undefined) {
      throw new UsageError(`unexpected argument "${extra}"`);
    }
    const base = local.slice(local.lastIndexOf("/") + 1);
    const lfn = lfnArg(target.endsWith("/") ? `${target}${base}` : target);
    try {
      await Deno.stat(local);
    } catch (e) {
      // Under the launcher a path that did not exist at start is not
      // granted either (see launch_plan.ts): the same missing file.
      throw e instanceof Deno.errors.NotFound ||
          e instanceof Deno.errors.NotCapable
        ? new CliFailure(EXIT.notFound, `${local}: no such file`, "not_found")
        : e;
    }
    const client = await connect();
    const out = await uploadFile(client, local, lfn, io);
    io.out(
      json
        ? JSON.stringify(out)
        : `${local} → ${out.lfn}  ${formatBytes(out.size)}  ${out.sha256} ok`,
    );
    return 0;
  },
});

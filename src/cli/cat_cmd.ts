/**
 * `splitpilot cat LFN`: writes a file to stdout, then checks its SHA-256
 * against the broker's (a mismatch prints an error and exits 1, after the
 * bytes were written: pipe into a file and check the exit code).
 *
 * ```sh
 * splitpilot cat /jdoe/jobs/42/stdout
 * ```
 *
 * Exit codes: 0 printed and verified, 1 failure or checksum mismatch,
 * 2 bad usage, 3 no such file or not yours.
 *
 * @module
 */
import { type CliIo, CONSOLE_IO, UsageError } from "./cli_io.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";
import { downloadFile, lfnArg } from "./transfer.ts";
import { userCommand } from "./user_command.ts";

/** Usage text. */
export const CAT_USAGE = `usage: splitpilot cat LFN [--broker URL] [--token DIR]
  LFN            a file in your tree, e.g. /jdoe/jobs/42/stdout
${COMMON_FLAGS}
examples:
  splitpilot cat /jdoe/demo/input.txt
  splitpilot cat /jdoe/jobs/42/summary.txt > summary.txt`;

/** Runs `cat <args>`; returns the exit code. */
export function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
  stdout: WritableStream<Uint8Array> = Deno.stdout.writable,
): Promise<number> {
  return userCommand({
    usage: CAT_USAGE,
    async run({ flags, io, connect }) {
      const [target, extra] = flags._;
      if (target === undefined) throw new UsageError("missing LFN");
      if (extra !== undefined) {
        throw new UsageError(`unexpected argument "${extra}"`);
      }
      await downloadFile(await connect(), lfnArg(target), stdout, io);
    },
  })(args, io);
}

/**
 * `splitpilot submit FILE|-`: submits a JDL (from a file, or `-` for
 * stdin) and prints the new job's ID.
 *
 * ```sh
 * splitpilot submit job.jdl            # prints e.g. 42
 * splitpilot submit --json - < job.jdl # {"jobId":"42","state":"WAITING"}
 * ```
 *
 * A JDL the broker cannot parse prints `error: line L, column C: expected
 * …` and exits 2.
 *
 * Exit codes: 0 submitted, 1 failure (broker unreachable, server error),
 * 2 bad usage or input (unreadable file, invalid JDL), 3 not allowed
 * (token refused).
 *
 * @module
 */
import { toText } from "@std/streams";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { COMMON_FLAGS, connect } from "./_user_cli.ts";

/** Usage text. */
export const SUBMIT_USAGE =
  `usage: splitpilot submit FILE|- [--json] [--broker URL] [--token DIR]
  FILE           a JDL file, or - for stdin
${COMMON_FLAGS}
examples:
  splitpilot submit job.jdl              # prints the job ID
  splitpilot submit --json - < job.jdl   # {"jobId":"42","state":"WAITING"}`;

/**
 * Runs `submit FILE|-`: sends the JDL with a USER token and prints the
 * job ID; a JDL error is one `line L, column C` line and exit 2. Returns the
 * exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./submit_cmd.ts";
 * Deno.exit(await main([
 *   "job.jdl", "--broker", "https://127.0.0.1:8443", "--token",
 *   "/home/jdoe/.splitpilot/user",
 * ]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  let client;
  const json = wantsJson(args);
  try {
    const flags = parseFlags(args, {
      string: ["broker", "token"],
      boolean: ["json", "help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(SUBMIT_USAGE);
      return 0;
    }
    const [file, extra] = flags._;
    if (file === undefined) {
      throw new UsageError(`missing JDL file (or - for stdin)`);
    }
    if (extra !== undefined) {
      throw new UsageError(`unexpected argument "${extra}"`);
    }
    let text: string;
    try {
      text = file === "-" ? await toText(stdin) : await Deno.readTextFile(file);
    } catch (e) {
      throw new UsageError(
        `cannot read ${file === "-" ? "stdin" : file}: ${(e as Error).message}`,
      );
    }
    client = await connect(flags);
    // One idempotency key for all attempts: a retry cannot duplicate.
    const out = await client.submit(text);
    io.out(
      flags.json
        ? JSON.stringify({ jobId: out.jobId, state: out.state })
        : out.jobId,
    );
    return 0;
  } catch (e) {
    return fail(io, e, { usage: SUBMIT_USAGE, json });
  } finally {
    client?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

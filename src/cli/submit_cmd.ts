/**
 * `splitpilot submit FILE|- [ARG…]`: submits a JDL (from a file, or `-`
 * for stdin) and prints the new job's ID, or the master's ID for a JDL
 * with `Split`. `ARG…` fill `$1…$N` in the JDL (JAliEn's semantics).
 *
 * ```sh
 * splitpilot submit job.jdl            # prints e.g. 42
 * splitpilot submit raw.jdl 245232 LHC15o 2015
 * splitpilot submit --json - < job.jdl # {"jobId":"42","state":"WAITING",…}
 * ```
 *
 * Constructs accepted only because JAliEn accepts them (quoted numbers,
 * repeated keys, bare words, …) print `warning: line L, column C: …` on
 * stderr; `--strict` refuses them instead. A JDL the broker cannot parse
 * prints `error: line L, column C: expected …` and exits 2; so does a
 * file that is not valid UTF-8 (the same error the API gives).
 *
 * Exit codes: 0 submitted, 1 failure (broker unreachable, server error),
 * 2 bad usage or input (unreadable file, invalid JDL), 3 not allowed
 * (token refused).
 *
 * @module
 */
import { decodeJdl } from "../jdl/decode.ts";
import { type CliIo, CONSOLE_IO, UsageError } from "./cli_io.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";
import { userCommand } from "./user_command.ts";

/** Usage text. */
export const SUBMIT_USAGE =
  `usage: splitpilot submit FILE|- [ARG...] [--strict] [--json] [--broker URL] [--token DIR]
  FILE           a JDL file, or - for stdin
  ARG...         values of $1, $2, ... in the JDL
  --strict       refuse what only JAliEn's leniency accepts (no warnings)
${COMMON_FLAGS}
examples:
  splitpilot submit job.jdl              # prints the job ID
  splitpilot submit sim.jdl 000123 50    # fills $1 and $2
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
export function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  return userCommand({
    usage: SUBMIT_USAGE,
    flags: { boolean: ["strict"] },
    async run({ flags, io, connect }) {
      const [file, ...jdlArgs] = flags._.map(String);
      if (file === undefined) {
        throw new UsageError(`missing JDL file (or - for stdin)`);
      }
      let bytes: Uint8Array;
      try {
        bytes = file === "-" ? await toBytes(stdin) : await Deno.readFile(file);
      } catch (e) {
        throw new UsageError(
          `cannot read ${file === "-" ? "stdin" : file}: ${
            (e as Error).message
          }`,
        );
      }
      let text: string;
      try {
        // The same check and message as the broker's: never submit U+FFFD.
        text = decodeJdl(bytes);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const client = await connect();
      const q = new URLSearchParams();
      for (const a of jdlArgs) q.append("arg", a);
      if (flags.strict) q.set("strict", "1");
      const res = await client.request("POST", `/api/v1/jobs?${q}`, {
        body: text,
        // One idempotency key for all attempts: a retry cannot duplicate.
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "idempotency-key": crypto.randomUUID(),
        },
      });
      const out = await res.json() as {
        jobId: string;
        state: string;
        subjobs?: number;
        warnings?: { line: number; column: number; message: string }[];
      };
      const warnings = out.warnings ?? [];
      if (flags.json) {
        io.out(JSON.stringify({
          jobId: out.jobId,
          state: out.state,
          ...(out.subjobs === undefined ? {} : { subjobs: out.subjobs }),
          ...(warnings.length === 0 ? {} : { warnings }),
        }));
      } else {
        for (const w of warnings) {
          io.err(`warning: line ${w.line}, column ${w.column}: ${w.message}`);
        }
        io.out(out.jobId);
        if (out.subjobs !== undefined) {
          io.err(`masterjob ${out.jobId}: ${out.subjobs} subjobs`);
        }
      }
      return 0;
    },
  })(args, io);
}

async function toBytes(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * `splitpilot jdl check FILE… [--strict] [--arg V]…` validates JDLs
 * without submitting and prints each leniency used as a warning;
 * `splitpilot jdl fmt FILE [--arg V]…` prints the canonical form. No broker
 * is needed (the executable lookup in the file store happens at submit).
 *
 * ```sh
 * splitpilot jdl check job.jdl other.jdl
 * # job.jdl: ok
 * # other.jdl: warning: line 9, column 7: quoted number "1" for Price …
 * splitpilot jdl fmt job.jdl > canonical.jdl
 * ```
 *
 * Exit codes: 0 all valid, 2 bad usage or any invalid file (`FILE: error:
 * line L, column C: …`), 1 unreadable file.
 *
 * @module
 */
import {
  applyArguments,
  formatJdl,
  type JdlWarning,
  parseJdl,
} from "../jdl/mod.ts";
import { decodeJdl } from "../jdl/decode.ts";
import { type CliIo, CONSOLE_IO, parseFlags } from "./cli_io.ts";

/** Usage text. */
export const JDL_USAGE =
  `usage: splitpilot jdl check FILE... [--strict] [--arg VALUE]...
       splitpilot jdl fmt FILE [--strict] [--arg VALUE]...
  --arg VALUE    value of $1, $2, ... (in order), as submit FILE ARG... gives
  --strict       refuse what only JAliEn's leniency accepts
examples:
  splitpilot jdl check analysis.jdl sim.jdl
  splitpilot jdl fmt sim.jdl --arg 000245232 --arg 50`;

/** Runs `jdl <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let flags;
  try {
    flags = parseFlags(args, {
      boolean: ["strict", "help"],
      string: ["arg"],
      collect: ["arg"],
      alias: { h: "help" },
    });
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    io.err(JDL_USAGE);
    return 2;
  }
  if (flags.help) {
    io.out(JDL_USAGE);
    return 0;
  }
  const [verb, ...files] = flags._.map(String);
  if ((verb !== "check" && verb !== "fmt") || files.length === 0) {
    io.err(
      `error: expected "check FILE..." or "fmt FILE", found ${
        verb === undefined
          ? "nothing"
          : JSON.stringify([verb, ...files].join(" "))
      }`,
    );
    io.err(JDL_USAGE);
    return 2;
  }
  if (verb === "fmt" && files.length > 1) {
    io.err(`error: fmt takes one FILE, found ${files.length}`);
    return 2;
  }
  let code = 0;
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (e) {
      io.err(`${file}: error: cannot read: ${(e as Error).message}`);
      code = Math.max(code, 1);
      continue;
    }
    const warnings: JdlWarning[] = [];
    try {
      // Without --arg, $N placeholders are left as written (checked at
      // submit, which needs them filled).
      const args = flags.arg ?? [];
      const text = args.length > 0
        ? applyArguments(decodeJdl(bytes), args)
        : decodeJdl(bytes);
      const jd = parseJdl(text, { strict: flags.strict, warnings: warnings });
      if (verb === "fmt") {
        for (const w of warnings) {
          io.err(
            `${file}: warning: line ${w.line}, column ${w.column}: ${w.message}`,
          );
        }
        io.out(formatJdl(jd).replace(/\n$/, ""));
        continue;
      }
      for (const w of warnings) {
        io.out(
          `${file}: warning: line ${w.line}, column ${w.column}: ${w.message}`,
        );
      }
      const split = jd.split === undefined
        ? ""
        : ` (masterjob: Split ${
          jd.split.kind === "production"
            ? `production:${jd.split.first}-${jd.split.last}`
            : jd.split.kind
        })`;
      io.out(`${file}: ok${split}`);
    } catch (e) {
      io.err(`${file}: error: ${(e as Error).message}`);
      code = 2;
    }
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

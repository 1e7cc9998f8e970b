/**
 * `deno task build --broker HOST:PORT [--out dist/] [--listen HOST:PORT]
 * [--cache DIR] [--no-bench]`: builds one artefact per role with its
 * permissions baked in (see `src/build/build_artefacts.ts`), then prints
 * the binary facts: artefact sizes and the built wrapper's start-up time
 * against `deno run` of the source.
 *
 * Exit codes: 0 ok, 1 build failed, 2 bad usage.
 *
 * @module
 */
import { parseFlags as parseArgs, UsageError } from "../src/cli/cli_io.ts";
import { buildArtefacts, BuildError } from "../src/build/mod.ts";
import { benchBuild, formatBenchRows } from "../bench/build.ts";

/** Usage text. */
export const BUILD_USAGE =
  "usage: deno task build --broker HOST:PORT [--out dist/] [--listen HOST:PORT] [--cache DIR] [--no-bench]";

/** Where the build CLI prints. */
export interface BuildIo {
  /** A line to stdout. */
  out(line: string): void;
  /** A line to stderr. */
  err(line: string): void;
}

const CONSOLE: BuildIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
};

/** Runs the build CLI; returns the exit code. */
export async function buildMain(
  args: string[],
  io: BuildIo = CONSOLE,
): Promise<number> {
  let f;
  try {
    f = parseArgs(args, {
      string: ["broker", "out", "listen", "cache"],
      boolean: ["no-bench", "help"],
    });
    if (f.help) {
      io.out(BUILD_USAGE);
      return 0;
    }
    if (!f.broker) throw new UsageError(`--broker is required\n${BUILD_USAGE}`);
    if (f._.length) {
      throw new UsageError(`unexpected argument "${f._[0]}"\n${BUILD_USAGE}`);
    }
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return 2;
  }
  try {
    const result = await buildArtefacts({
      broker: f.broker,
      listen: f.listen,
      out: f.out ?? "dist",
      cacheDir: f.cache,
      log: (l) => io.out(l),
    });
    io.out(
      `built ${result.artefacts.length} artefact(s) in ${result.out} (${
        (result.ms / 1000).toFixed(1)
      } s); checksums in SHA256SUMS, details in manifest.json`,
    );
    for (const a of result.artefacts) {
      io.out(`  ${a.name} [${a.form}]: ${a.flags.join(" ")}`);
    }
    if (!f["no-bench"]) {
      io.out(formatBenchRows(await benchBuild({ quick: true, result })));
    }
    return 0;
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return e instanceof BuildError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await buildMain(Deno.args));
}

/**
 * Strict command-line flags for every splitpilot entry point (the CLI,
 * the agent, the factory): `@std/cli`'s `parseArgs` through its `unknown`
 * hook, so that a mistyped flag is a one-line error instead of being
 * ignored. It sits below both the CLI and the processes the CLI starts,
 * so neither imports the other for it.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./parse_flags.ts";
 * const f = parseFlags(["--cores", "8", "job.jdl"], { string: ["cores"] });
 * f.cores; // "8"
 * f._; // ["job.jdl"]
 * ```
 *
 * @module
 */
import { type Args, parseArgs, type ParseOptions } from "@std/cli";

/** Bad usage or input: exit code 2, reason `usage`. */
export class UsageError extends Error {
  /** @param message one line naming the flag or argument. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Options of {@link parseFlags}: std's, without the `unknown` hook. */
export type FlagOptions = Omit<ParseOptions, "unknown">;

/** Parsed flags with string positionals. */
export type Flags = Args & { _: string[] };

/**
 * `@std/cli` `parseArgs` made strict through its `unknown` hook: an unknown
 * flag or a string flag without its value is a {@link UsageError} naming
 * the flag and the known ones. Positionals stay strings (std turns `42`
 * into a number). `--help`/`-h` and `--json` are always known.
 */
export function parseFlags(
  args: readonly string[],
  options: FlagOptions,
): Flags {
  // Every command takes --help (-h) and --json (JSON errors at least).
  const opts: FlagOptions = {
    ...options,
    boolean: [
      ...new Set([...(options.boolean ?? []), "help", "json"]),
    ],
    alias: { h: "help", ...options.alias },
  };
  const names = [
    ...(opts.string ?? []),
    ...(opts.boolean ?? []),
    ...(opts.collect ?? []),
  ];
  const raw: string[] = [];
  const parsed = parseArgs(args, {
    ...opts,
    unknown: (arg: string, key?: string) => {
      if (key === undefined) {
        raw.push(arg);
        return false;
      }
      throw new UsageError(
        `unknown flag ${arg.replace(/=.*$/, "")} (known flags: ${
          names.map((n) => `--${n}`).join(", ") || "none"
        })`,
      );
    },
  });
  // Arguments after `--` bypass the hook; keep them as given.
  const afterDashes = parsed._.map(String);
  for (const name of opts.string ?? []) {
    if (parsed[name] === "") {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  for (const name of opts.collect ?? []) {
    if ((parsed[name] as unknown[]).some((v) => v === "" || v === true)) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  return { ...parsed, _: [...raw, ...afterDashes] } as Flags;
}

/**
 * Local stand-in for `jsr:@std/cli` (JSR is not reachable here; `deno.json`
 * maps `@std/cli` to this file), built on `node:util`'s `parseArgs`.
 *
 * One deliberate difference from std: unknown flags and missing values are
 * not silently accepted; they throw a {@link ArgsError} whose message names
 * the flag, so every CLI here answers bad flags with one clear line.
 *
 * @module
 */
import { parseArgs as nodeParseArgs } from "node:util";

/** Thrown for an unknown flag or a flag without its value. */
export class ArgsError extends Error {
  /** @param message names the flag, e.g. `unknown flag --frobnicate`. */
  constructor(message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

/** Options of {@link parseArgs}, a subset of std's with the same names. */
export interface ParseOptions {
  /** Flags that take a string value. @default [] */
  string?: readonly string[];
  /** Flags that are booleans. @default [] */
  boolean?: readonly string[];
  /** String flags that may repeat; their value is an array. @default [] */
  collect?: readonly string[];
  /** Short aliases: `{ h: "help" }`. @default {} */
  alias?: Readonly<Record<string, string>>;
  /** Default values. @default {} */
  default?: Readonly<Record<string, unknown>>;
}

/** Parsed arguments: positionals in `_`, flags by long name. */
export interface Args {
  /** Positional arguments. */
  _: string[];
  // deno-lint-ignore no-explicit-any
  [flag: string]: any;
}

/**
 * Parses command-line arguments.
 *
 * @example
 * ```ts
 * const args = parseArgs(["--out", "d", "x"], { string: ["out"] });
 * // args.out === "d", args._ === ["x"]
 * ```
 */
export function parseArgs(
  args: readonly string[],
  opts: ParseOptions = {},
): Args {
  const options: Record<
    string,
    { type: "string" | "boolean"; multiple?: boolean; short?: string }
  > = {};
  for (const name of opts.string ?? []) options[name] = { type: "string" };
  for (const name of opts.collect ?? []) {
    options[name] = { type: "string", multiple: true };
  }
  for (const name of opts.boolean ?? []) options[name] = { type: "boolean" };
  for (const [short, long] of Object.entries(opts.alias ?? {})) {
    if (options[long] && short.length === 1) options[long].short = short;
  }
  let parsed;
  try {
    parsed = nodeParseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const known = Object.keys(options).map((o) => `--${o}`).join(", ") ||
      "none";
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ArgsError(
      `${
        msg.replace(/\.?\s*To specify a positional.*$/, "")
      } (known flags: ${known})`,
    );
  }
  const out: Args = { ...(opts.default ?? {}), _: parsed.positionals };
  for (const [k, v] of Object.entries(parsed.values)) out[k] = v;
  for (const name of opts.boolean ?? []) {
    if (out[name] === undefined) out[name] = false;
  }
  for (const name of opts.collect ?? []) {
    if (out[name] === undefined) out[name] = [];
  }
  return out;
}

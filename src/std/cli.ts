/**
 * Local stand-in for `jsr:@std/cli` (JSR is not reachable here; `deno.json`
 * maps `@std/cli` to this file). It implements the subset of std's
 * `parseArgs` that splitpilot uses, with std's semantics, so pointing the
 * alias at `jsr:@std/cli@^1` changes nothing:
 *
 * - unknown flags are accepted unless the `unknown` hook returns `false`
 *   (or throws); the hook is also called for positionals, with no key;
 * - a string flag without a value gets `""`;
 * - positionals that look like numbers become numbers;
 * - everything after `--` is positional.
 *
 * The splitpilot CLIs reject unknown flags through the hook (see
 * `src/cli/cli_io.ts`), not through a difference in this file.
 *
 * @module
 */

/** Options of {@link parseArgs}, a subset of std's with the same names. */
export interface ParseOptions {
  /** Flags that take a string value. @default [] */
  string?: readonly string[];
  /** Flags that are booleans. @default [] */
  boolean?: readonly string[];
  /** Flags that may repeat; their value is an array. @default [] */
  collect?: readonly string[];
  /** Aliases: `{ h: "help" }`. @default {} */
  alias?: Readonly<Record<string, string | readonly string[]>>;
  /** Default values. @default {} */
  default?: Readonly<Record<string, unknown>>;
  /**
   * Called for every argument that is not a known flag (positionals too,
   * with `key` undefined). Returning `false` drops the argument.
   */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

/** Parsed arguments: positionals in `_`, flags by long name. */
export interface Args {
  /** Positional arguments. */
  _: Array<string | number>;
  // deno-lint-ignore no-explicit-any
  [flag: string]: any;
}

const NUMBER_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;

/**
 * Parses command-line arguments the way `jsr:@std/cli`'s `parseArgs` does.
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
  const strings = new Set(opts.string ?? []);
  const booleans = new Set(opts.boolean ?? []);
  const collect = new Set(opts.collect ?? []);
  const aliases = new Map<string, string>();
  for (const [k, v] of Object.entries(opts.alias ?? {})) {
    for (const a of typeof v === "string" ? [v] : v) {
      aliases.set(k, a);
      aliases.set(a, k);
    }
  }
  const canonical = (key: string): string => {
    if (strings.has(key) || booleans.has(key) || collect.has(key)) return key;
    const other = aliases.get(key);
    return other !== undefined ? other : key;
  };
  const known = (key: string) => {
    const k = canonical(key);
    return strings.has(k) || booleans.has(k) || collect.has(k);
  };
  const out: Args = { _: [] };
  for (const b of booleans) out[b] = false;
  for (const c of collect) out[c] = [];
  for (const [k, v] of Object.entries(opts.default ?? {})) out[k] = v;

  const set = (key: string, value: unknown, arg: string) => {
    if (
      !known(key) && opts.unknown && opts.unknown(arg, key, value) === false
    ) {
      return;
    }
    const k = canonical(key);
    if (collect.has(k)) {
      out[k] = [...(Array.isArray(out[k]) ? out[k] : []), value];
    } else out[k] = value;
  };
  const positional = (arg: string) => {
    if (opts.unknown && opts.unknown(arg) === false) return;
    out._.push(NUMBER_RE.test(arg) ? Number(arg) : arg);
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      for (const rest of args.slice(i + 1)) out._.push(rest);
      break;
    }
    let m = /^--([^=]+)=([\s\S]*)$/.exec(arg);
    if (m) {
      const k = canonical(m[1]);
      set(m[1], booleans.has(k) ? m[2] !== "false" : m[2], arg);
      continue;
    }
    m = /^--(.+)$/.exec(arg) ?? /^-([^-\d])$/.exec(arg);
    if (m) {
      const key = m[1];
      const k = canonical(key);
      const next = args[i + 1];
      if (booleans.has(k)) {
        set(key, true, arg);
      } else if (next !== undefined && !/^(-|--)[^-]/.test(next)) {
        const text = strings.has(k) || collect.has(k) || !NUMBER_RE.test(next);
        set(key, text ? next : Number(next), arg);
        i++;
      } else {
        set(key, strings.has(k) || collect.has(k) ? "" : true, arg);
      }
      continue;
    }
    positional(arg);
  }
  return out;
}

/**
 * What every `splitpilot` command shares: where output goes ({@link CliIo}),
 * the typed errors, the one mapping from errors to exit codes and to
 * `--json` error objects, and strict flag parsing over `@std/cli`.
 *
 * Exit codes (every command):
 * - 0: done;
 * - 1: failure (broker unreachable, server error, checksum mismatch, I/O);
 * - 2: bad usage or input (unknown flag, missing argument, invalid JDL: the
 *   broker's 400/413);
 * - 3: not found or not allowed (401, 403, 404, a local file missing, a
 *   host or path Deno's permissions refuse);
 * - 4: refused because of the job's state (409).
 *
 * @example
 * ```ts
 * import { CONSOLE_IO, fail, parseFlags } from "./cli_io.ts";
 * async function main(args: string[], io = CONSOLE_IO): Promise<number> {
 *   try {
 *     const flags = parseFlags(args, { string: ["out"], boolean: ["json"] });
 *     io.out(`out is ${flags.out}`);
 *     return 0;
 *   } catch (e) {
 *     return fail(io, e, { usage: "usage: demo [--out DIR]", json: args.includes("--json") });
 *   }
 * }
 * ```
 *
 * @module
 */
import { BrokerError } from "../client/broker_client.ts";
import { UsageError } from "../flags/parse_flags.ts";

export {
  type FlagOptions,
  type Flags,
  parseFlags,
  UsageError,
} from "../flags/parse_flags.ts";
import { TokenError } from "../token/token_error.ts";

/** Token errors that mean "your input is wrong" rather than "it failed". */
const TOKEN_INPUT_REASONS = new Set([
  "malformed",
  "unreadable",
  "invalid_input",
  "bad_role",
  "bad_dn",
  "not_ca",
  "key_mismatch",
]);

/** Where command output goes; tests capture it. */
export interface CliIo {
  /** Prints a line to stdout. */
  out(line: string): void;
  /** Prints a line to stderr. */
  err(line: string): void;
}

/** Output to the console. */
export const CONSOLE_IO: CliIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
};

/** Exit codes; see the module doc. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  state: 4,
} as const;

/** A failure with its own exit code and machine-readable reason. */
export class CliFailure extends Error {
  /** Exit code. */
  readonly code: number;
  /** Machine-readable reason for `--json` output. */
  readonly reason: string;
  /**
   * @param code exit code (see {@link EXIT})
   * @param message one line naming the object (job ID, user or path)
   * @param reason machine-readable reason, e.g. `checksum_mismatch`
   */
  constructor(code: number, message: string, reason = "failure") {
    super(message);
    this.name = "CliFailure";
    this.code = code;
    this.reason = reason;
  }
}

/** Exit code of any error; see the module doc. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (e instanceof CliFailure) return e.code;
  if (e instanceof BrokerError) {
    if (e.status === 400 || e.status === 413) return EXIT.usage;
    if (e.status === 401 || e.status === 403 || e.status === 404) {
      return EXIT.notFound;
    }
    if (e.status === 409) return EXIT.state;
  }
  if (e instanceof TokenError && TOKEN_INPUT_REASONS.has(e.reason)) {
    return EXIT.usage;
  }
  if (e instanceof Deno.errors.NotFound) return EXIT.notFound;
  if (e instanceof Deno.errors.NotCapable) return EXIT.notFound;
  return EXIT.failure;
}

/** Machine-readable reason of any error. */
export function reasonOf(e: unknown): string {
  if (e instanceof UsageError) return "usage";
  if (e instanceof CliFailure) return e.reason;
  if (e instanceof BrokerError || e instanceof TokenError) return e.reason;
  if (e instanceof Deno.errors.NotCapable) return "not_permitted";
  if (e instanceof Deno.errors.NotFound) return "not_found";
  if (e instanceof Deno.errors.PermissionDenied) return "permission_denied";
  return "failure";
}

/**
 * One line for an error: no stack, no `Error:` prefix, no usage text
 * appended below it (that is one `--help` away).
 */
export function messageOf(e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  const net = /net access to "([^"]+)"/.exec(m);
  if (
    e instanceof Deno.errors.NotCapable && net &&
    !/createServerHandle|listen/i.test(e.stack ?? "")
  ) {
    return `broker ${
      net[1]
    } is not in your configuration, so Deno refused the connection; add its URL to "broker =" in ~/.splitpilot/config (or $SPLITPILOT_CONFIG) or to $SPLITPILOT_BROKER`;
  }
  if (
    e instanceof Deno.errors.NotCapable &&
    /createServerHandle|listen/i.test(e.stack ?? "")
  ) {
    return `cannot listen on ${
      net?.[1] ?? "that address"
    }: Deno's permissions do not allow it (start it as "splitpilot broker serve --listen HOST:PORT", which grants that address)`;
  }
  if (e instanceof Deno.errors.NotCapable) {
    return `${
      m.replace(/, run again with.*$/, "")
    }: splitpilot may only touch the token dir, the files named on the command line and the output dir`;
  }
  return m;
}

/**
 * Reports `e` and returns its exit code: one `error: …` line on stderr,
 * or with `json`, one `{"error","reason"}` line on stdout, where scripts
 * read. (`usage` is kept for callers; the text is one `--help` away.)
 */
export function fail(
  io: CliIo,
  e: unknown,
  options: { usage?: string; json?: boolean } | string = {},
): number {
  const opts = typeof options === "string" ? { usage: options } : options;
  const code = exitCodeOf(e);
  if (opts.json) {
    io.out(JSON.stringify({ error: messageOf(e), reason: reasonOf(e) }));
    return code;
  }
  // One line: the usage text is one `--help` away.
  io.err(`error: ${messageOf(e)}`);
  return code;
}

/** Whether the arguments ask for `--json` (known even when parsing fails). */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

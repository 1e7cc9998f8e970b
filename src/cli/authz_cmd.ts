/**
 * `splitpilot authz`: prints the one authorization table
 * (`src/broker/authz.ts`), as the README shows it.
 *
 * ```sh
 * splitpilot authz
 * ```
 *
 * @module
 */
import { formatAuthzTable } from "../broker/authz.ts";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
} from "./cli_io.ts";

/** Usage text. */
export const AUTHZ_USAGE = `usage: splitpilot authz
  prints the authorization table: endpoint × token role → rule
example:
  splitpilot authz`;

/** Runs `authz <args>`; returns the exit code. */
export function main(args: string[], io: CliIo = CONSOLE_IO): Promise<number> {
  try {
    const flags = parseFlags(args, { boolean: ["help"], alias: { h: "help" } });
    if (flags.help) {
      io.out(AUTHZ_USAGE);
      return Promise.resolve(0);
    }
    if (flags._.length) {
      throw new UsageError(`unexpected argument "${flags._[0]}"`);
    }
    io.out(formatAuthzTable());
    return Promise.resolve(0);
  } catch (e) {
    return Promise.resolve(fail(io, e, { usage: AUTHZ_USAGE }));
  }
}

/**
 * The skeleton every user command (`submit`, `ps`, `trace`, `why`, `kill`,
 * `resubmit`, `get`, `put`, `ls`, `cat`, `rm`, `logs`) shares: strict
 * flags with `--broker`/`--token`/`--json`/`--help`, the usage text on
 * `--help`, a broker client made only once the arguments are known to be
 * good (and always closed), and every error through the one mapping to an
 * exit code and a `--json` error object in `cli_io.ts`.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  type FlagOptions,
  type Flags,
  parseFlags,
  wantsJson,
} from "./cli_io.ts";
import { connect, USER_FLAGS } from "./_user_cli.ts";

/** What a user command's body gets. */
export interface UserCommandContext {
  /** The parsed flags (positionals in `_`). */
  flags: Flags;
  /** Where output goes. */
  io: CliIo;
  /** Whether `--json` was given. */
  json: boolean;
  /**
   * The broker client from `--broker`/`--token`, the environment or the
   * config file; closed when the command ends.
   */
  connect(): Promise<BrokerClient>;
}

/** A user command: its usage text, its own flags, its body. */
export interface UserCommandSpec {
  /** Usage text (printed on `--help`). */
  usage: string;
  /** Flags besides the common ones. */
  flags?: FlagOptions;
  /** The command; its result is the exit code (none: 0). */
  run(ctx: UserCommandContext): Promise<number | void>;
}

/** A command's `main`: arguments and output in, exit code out. */
export type CommandMain = (args: string[], io?: CliIo) => Promise<number>;

/**
 * Builds a user command's `main` from its body.
 *
 * @example
 * ```ts ignore
 * export const main = userCommand({
 *   usage: "usage: splitpilot why ID [--json]",
 *   async run({ flags, io, connect }) {
 *     const id = jobIdArg(flags._, "usage: splitpilot why ID");
 *     const client = await connect();
 *     io.out(JSON.stringify(await client.json("GET", `/api/v1/jobs/${id}/why`)));
 *   },
 * });
 * ```
 */
export function userCommand(spec: UserCommandSpec): CommandMain {
  const extra = spec.flags ?? {};
  const options: FlagOptions = {
    ...extra,
    string: [...USER_FLAGS.string, ...(extra.string ?? [])],
    boolean: [...USER_FLAGS.boolean, ...(extra.boolean ?? [])],
    alias: { h: "help", ...extra.alias },
  };
  return async (args, io = CONSOLE_IO) => {
    let client: BrokerClient | undefined;
    const json = wantsJson(args);
    try {
      const flags = parseFlags(args, options);
      if (flags.help) {
        io.out(spec.usage);
        return 0;
      }
      const code = await spec.run({
        flags,
        io,
        json,
        connect: async () => client ??= await connect(flags),
      });
      return code ?? 0;
    } catch (e) {
      return fail(io, e, { usage: spec.usage, json });
    } finally {
      client?.close();
    }
  };
}

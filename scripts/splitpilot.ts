/**
 * The `splitpilot` command line: `deno task splitpilot <command> …`.
 *
 * Commands: `ca init`, `token issue|show`, `broker serve`, `authz`.
 * Exit codes: 0 ok, 1 failure, 2 bad usage or input.
 *
 * @module
 */
import { formatAuthzTable } from "../src/broker/authz.ts";

const COMMANDS: Record<
  string,
  () => Promise<{ main: (a: string[]) => Promise<number> }>
> = {
  ca: () => import("../src/cli/ca_cmd.ts"),
  token: () => import("../src/cli/token_cmd.ts"),
  broker: () => import("../src/cli/broker_cmd.ts"),
};

const USAGE = `usage: splitpilot <command> [args]
commands:
  ca init --state DIR                 create the token CA (key 0600, never overwritten)
  token issue|show ...                issue or inspect token certificates
  broker serve --state DIR --listen H:P   run the broker
  authz                               print the authorization table`;

/** Dispatches to a command; returns the exit code. */
export async function splitpilotMain(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (!cmd || cmd === "help" || cmd === "--help") {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === "authz") {
    console.log(formatAuthzTable());
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    console.error(
      `error: unknown command "${cmd}"; expected one of: ${
        [...Object.keys(COMMANDS), "authz"].join(", ")
      }`,
    );
    return 2;
  }
  return await (await load()).main(rest);
}

if (import.meta.main) {
  Deno.exit(await splitpilotMain(Deno.args));
}

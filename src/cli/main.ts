/**
 * The `splitpilot` dispatcher: runs one command of the registry
 * (`commands.ts`) in this process. The installed command
 * (`scripts/splitpilot.ts`) starts this module with the command's
 * permissions; tests and the broker's process launcher call it directly.
 *
 * @example
 * ```ts
 * const code = await splitpilotMain(["ps", "--json"]);
 * ```
 *
 * @module
 */
import { type CliIo, CONSOLE_IO, EXIT, messageOf, reasonOf } from "./cli_io.ts";
import { COMMANDS } from "./commands.ts";

/** The top-level usage text, from the registry. */
export function usage(): string {
  const w = 26;
  return [
    "usage: splitpilot <command> [args]   (splitpilot <command> --help for more)",
    "commands:",
    ...Object.values(COMMANDS).map((c) =>
      c.synopsis.length > w
        ? `  ${c.synopsis}\n  ${"".padEnd(w)}  ${c.summary}`
        : `  ${c.synopsis.padEnd(w)}  ${c.summary}`
    ),
    "user commands take --broker URL --token DIR --json; defaults come from",
    "$SPLITPILOT_BROKER, $SPLITPILOT_TOKEN and ~/.splitpilot/config (see: splitpilot config)",
    "exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not found or not",
    "allowed, 4 refused in the job's state",
    "examples:",
    "  splitpilot config",
    "  splitpilot submit job.jdl",
    "  splitpilot ps --state RUNNING",
  ].join("\n");
}

/** Dispatches to a command; returns the exit code. */
export async function splitpilotMain(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  const [cmd, ...rest] = args;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    if (cmd === "help" && rest[0] && COMMANDS[rest[0]]) {
      return await (await COMMANDS[rest[0]].load()).main(["--help"], io);
    }
    (cmd ? io.out : io.err)(usage());
    return cmd ? EXIT.ok : EXIT.usage;
  }
  const spec = COMMANDS[cmd];
  if (!spec) {
    const msg = `unknown command "${cmd}"; expected one of: ${
      Object.keys(COMMANDS).join(", ")
    }`;
    if (rest.includes("--json")) {
      io.out(JSON.stringify({ error: msg, reason: "usage" }));
    } else io.err(`error: ${msg}`);
    return EXIT.usage;
  }
  return await (await spec.load()).main(rest, io);
}

/**
 * Last resort for errors thrown where no command catches them (e.g. inside
 * a `node:` callback): one `error:` line, exit 1, never a stack trace.
 */
export function installLastResort(io: CliIo = CONSOLE_IO): void {
  const report = (e: unknown) => {
    if (Deno.args.includes("--json")) {
      io.out(JSON.stringify({ error: messageOf(e), reason: reasonOf(e) }));
    } else io.err(`error: ${messageOf(e)}`);
    Deno.exit(EXIT.failure);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    report(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    report(ev.error);
  });
}

if (import.meta.main) {
  installLastResort();
  Deno.exit(await splitpilotMain(Deno.args));
}

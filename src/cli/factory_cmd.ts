/**
 * `splitpilot factory …`: starts a site's pilot factory as its own
 * process, with the permission table's factory row (net to the broker,
 * its token and work dir, the batch system's three commands), or prints
 * that command line with `--print-command`.
 *
 * ```sh
 * splitpilot factory --site CERN --slurm --partition grid --cores 8 --ttl 24h \
 *   --broker https://broker.example.org:8443 --token ~/.splitpilot/factory \
 *   --work /var/lib/splitpilot-factory
 * ```
 *
 * Exit codes: the factory's own (0 stopped cleanly, 1 failure, 2 bad usage).
 *
 * @module
 */
import { FACTORY_USAGE } from "../factory/main.ts";
import { factoryCommand } from "../launch/factory_process.ts";
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";

/** sh-quotes one word when it needs it. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w)
    ? w
    : `'${w.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `factory <args>`: keeps a site's batch system supplied with pilots
 * until SIGTERM. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./factory_cmd.ts";
 * Deno.exit(await main([
 *   "--site", "CERN", "--slurm", "--broker", "https://grid.example.org:8443",
 *   "--token", "/var/lib/splitpilot/site-token", "--work", "/scratch/factory",
 *   "--max-queued", "10",
 * ]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(FACTORY_USAGE);
    return 0;
  }
  let cmd: string;
  let argv: string[];
  try {
    ({ cmd, args: argv } = factoryCommand({ args }));
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return 2;
  }
  if (args.includes("--print-command")) {
    io.out([cmd, ...argv].map(shellWord).join(" "));
    return 0;
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, { args: argv, stdin: "null" }).spawn();
  } catch (e) {
    io.err(
      `error: cannot start the factory (${
        (e as Error).message.split("\n")[0]
      }); run the command --print-command shows`,
    );
    return 1;
  }
  const forward = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
  };
  Deno.addSignalListener("SIGTERM", forward);
  Deno.addSignalListener("SIGINT", forward);
  try {
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGTERM", forward);
    Deno.removeSignalListener("SIGINT", forward);
  }
}

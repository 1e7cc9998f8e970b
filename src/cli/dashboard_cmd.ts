/**
 * `splitpilot dashboard [--listen 127.0.0.1:8080]`: serves the web
 * dashboard (src/dashboard/server.ts) for the user's token until Ctrl-C,
 * and prints the URL to open (it carries a session key).
 *
 * ```sh
 * splitpilot dashboard                      # http://127.0.0.1:8080/?key=…
 * splitpilot dashboard --listen 127.0.0.1:9000
 * ```
 *
 * Exit codes: 0 stopped, 1 failure (e.g. port in use), 2 bad usage.
 *
 * @module
 */
import { parseFlags as parseArgs } from "./cli_io.ts";
import { startDashboard } from "../dashboard/server.ts";
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";
import { COMMON_FLAGS, connect, fail } from "./_user_cli.ts";

/** Usage text. */
export const DASHBOARD_USAGE =
  `usage: splitpilot dashboard [--listen HOST:PORT] [--broker URL] [--token DIR]
  --listen HOST:PORT   where the page is served (default 127.0.0.1:8080;
                       keep it on loopback: it acts with your token)
${COMMON_FLAGS}
examples:
  splitpilot dashboard
  splitpilot dashboard --listen 127.0.0.1:9000`;

/** Runs `dashboard <args>` until SIGINT/SIGTERM; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  try {
    const f = parseArgs(args, {
      string: ["broker", "token", "listen"],
      boolean: ["help", "json"],
      alias: { h: "help" },
    });
    if (f.help) {
      io.out(DASHBOARD_USAGE);
      return 0;
    }
    const client = await connect(f);
    let dashboard;
    try {
      dashboard = await startDashboard({ client, listen: f.listen });
    } catch (e) {
      client.close();
      if (e instanceof Deno.errors.AddrInUse) {
        throw new Error(
          `${
            f.listen ?? "127.0.0.1:8080"
          } is in use; pick another with --listen`,
        );
      }
      throw e;
    }
    io.out(`dashboard: ${dashboard.url}`);
    io.out("(Ctrl-C stops it)");
    const stop = Promise.withResolvers<void>();
    const onSignal = () => stop.resolve();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    await stop.promise;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await dashboard.close();
    client.close();
    return 0;
  } catch (e) {
    return fail(io, e, DASHBOARD_USAGE);
  }
}

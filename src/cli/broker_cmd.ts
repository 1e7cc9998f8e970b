/**
 * `splitpilot broker serve`: runs the broker until SIGTERM/SIGINT.
 *
 * @module
 */
import { parseArgs } from "../std/cli.ts";
import { startBroker } from "../broker/broker.ts";

/** Usage text. */
export const BROKER_USAGE =
  "usage: splitpilot broker serve --state DIR [--listen HOST:PORT] [--max-resubmissions N] [--job-token-margin SECONDS]";

/** Parses `HOST:PORT`. */
export function parseListen(value: string): { hostname: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(
      `--listen ${value}: expected HOST:PORT, e.g. 127.0.0.1:8443`,
    );
  }
  return { hostname: m[1].replace(/^\[|\]$/g, ""), port };
}

/** Runs the command; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let flags;
  let listen;
  try {
    flags = parseArgs(args, {
      string: ["state", "listen", "max-resubmissions", "job-token-margin"],
    });
    if (flags._[0] !== "serve") throw new TypeError(BROKER_USAGE);
    if (!flags.state) {
      throw new TypeError(`--state DIR is required\n${BROKER_USAGE}`);
    }
    listen = parseListen(flags.listen ?? "127.0.0.1:8443");
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  let broker;
  try {
    broker = await startBroker({
      stateDir: flags.state,
      ...listen,
      maxResubmissions: flags["max-resubmissions"]
        ? Number(flags["max-resubmissions"])
        : undefined,
      jobTokenMarginSeconds: flags["job-token-margin"]
        ? Number(flags["job-token-margin"])
        : undefined,
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
  console.log(`broker listening on ${broker.url}`);
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  await stop.promise;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  await broker.close();
  console.error("broker stopped");
  return 0;
}

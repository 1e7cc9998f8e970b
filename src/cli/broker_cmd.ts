/**
 * `splitpilot broker serve`: runs the broker until SIGTERM/SIGINT.
 *
 * Queue policy flags: `--max-resubmissions N` (automatic resubmissions
 * after ERROR_IB, ZOMBIE or preemption; default 10), `--max-waiting
 * SECONDS` (waiting time before EXPIRED when the JDL has no
 * `MaxWaitingTime`; default 7 days), `--user-quota N` (running jobs per
 * user; default unlimited) and `--quota USER=N` (repeatable, per user),
 * `--sweep-interval SECONDS` (default 30) and `--zombie-after SECONDS`
 * (heartbeat silence before ZOMBIE; default 900).
 *
 * Load limits (README "Operating limits"): `--max-upload SIZE` (largest
 * file upload, e.g. `512M`; default 4G), `--max-connections N` (default
 * 500), `--max-connections-per-peer N` (default 200), `--accept-check
 * SECONDS` (self-check of the accept path; default 5, 0 = off).
 *
 * Exit codes: 0 stopped by a signal, 1 failure to start, 2 bad usage.
 *
 * @module
 */
import { parseArgs } from "../std/cli.ts";
import { startBroker } from "../broker/broker.ts";
import { parseSize } from "../broker/upload_limit.ts";

/** Usage text. */
export const BROKER_USAGE =
  `usage: splitpilot broker serve --state DIR [--listen HOST:PORT] [--max-resubmissions N]
       [--job-token-margin SECONDS] [--max-waiting SECONDS] [--user-quota N]
       [--quota USER=N]... [--sweep-interval SECONDS] [--zombie-after SECONDS]
       [--max-upload SIZE] [--max-connections N] [--max-connections-per-peer N]
       [--accept-check SECONDS]`;

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

/** A non-negative number flag, or undefined when absent. */
function amount(
  flags: Record<string, unknown>,
  name: string,
  opts: { integer?: boolean; positive?: boolean } = {},
): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (
    raw === "" || !Number.isFinite(v) || v < 0 ||
    (opts.integer && !Number.isInteger(v)) || (opts.positive && v === 0)
  ) {
    throw new TypeError(
      `--${name} ${raw}: expected a ${
        opts.positive ? "positive" : "non-negative"
      } ${opts.integer ? "whole " : ""}number`,
    );
  }
  return v;
}

/** Parses `--quota USER=N` values. */
export function parseQuotas(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=\s]+)=(\d{1,9})$/.exec(v);
    if (!m) {
      throw new TypeError(
        `--quota ${v}: expected USER=N, e.g. --quota alice=100`,
      );
    }
    out[m[1]] = Number(m[2]);
  }
  return out;
}

function uploadSize(value: string): number {
  try {
    return parseSize(value);
  } catch (e) {
    throw new TypeError(`--max-upload ${(e as Error).message}`);
  }
}

/**
 * Runs `broker serve`: the CA, the queue and the file store behind mutual
 * TLS, until SIGTERM. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./broker_cmd.ts";
 * Deno.exit(await main([
 *   "serve", "--state", "/var/lib/splitpilot", "--listen", "127.0.0.1:8443",
 * ]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let flags;
  let listen;
  let policy;
  try {
    flags = parseArgs(args, {
      string: [
        "state",
        "listen",
        "max-resubmissions",
        "job-token-margin",
        "max-waiting",
        "user-quota",
        "sweep-interval",
        "zombie-after",
        "max-upload",
        "max-connections",
        "max-connections-per-peer",
        "accept-check",
      ],
      collect: ["quota"],
    });
    if (flags._[0] !== "serve") throw new TypeError(BROKER_USAGE);
    if (!flags.state) {
      throw new TypeError(`--state DIR is required\n${BROKER_USAGE}`);
    }
    listen = parseListen(flags.listen ?? "127.0.0.1:8443");
    policy = {
      maxResubmissions: amount(flags, "max-resubmissions", { integer: true }),
      jobTokenMarginSeconds: amount(flags, "job-token-margin"),
      maxWaitingSeconds: amount(flags, "max-waiting", { positive: true }),
      userQuota: amount(flags, "user-quota", { integer: true }),
      userQuotas: parseQuotas(flags.quota),
      sweepIntervalSeconds: amount(flags, "sweep-interval"),
      zombieAfterSeconds: amount(flags, "zombie-after", { positive: true }),
      maxUploadBytes: flags["max-upload"] === undefined
        ? undefined
        : uploadSize(flags["max-upload"]),
      maxConnections: amount(flags, "max-connections", {
        integer: true,
        positive: true,
      }),
      maxConnectionsPerPeer: amount(flags, "max-connections-per-peer", {
        integer: true,
        positive: true,
      }),
      acceptCheckSeconds: amount(flags, "accept-check") ?? 5,
      exitWhenDead: true,
    };
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  let broker;
  try {
    broker = await startBroker({ stateDir: flags.state, ...listen, ...policy });
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  // Said only now: a supervisor may send SIGTERM as soon as it reads it.
  console.log(`broker listening on ${broker.url}`);
  await stop.promise;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  await broker.close();
  console.error("broker stopped");
  return 0;
}

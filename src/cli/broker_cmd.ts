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
import {
  CliFailure,
  EXIT,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";
import { startBroker } from "../broker/broker.ts";
import { parseSize } from "../broker/upload_limit.ts";
import { parseListen } from "./listen.ts";

export { parseListen };

/** Usage text. */
export const BROKER_USAGE =
  `usage: splitpilot broker serve --state DIR [--listen HOST:PORT] [--san NAME]...
       [--max-resubmissions N] [--job-token-margin SECONDS] [--max-waiting SECONDS]
       [--user-quota N] [--quota USER=N]... [--sweep-interval SECONDS]
       [--zombie-after SECONDS] [--max-upload SIZE] [--max-connections N]
       [--max-connections-per-peer N] [--accept-check SECONDS]
       [--db postgres://USER@HOST:PORT/DB] [--files DIR]
  --db URL            the task queue in PostgreSQL, shared by broker replicas
                      (default: SQLite in STATE/jobs.db; also SPLITPILOT_DB)
  --files DIR         the file store, shared by replicas (default STATE/files)
  --listen HOST:PORT  any address: 127.0.0.1:8443, 0.0.0.0:8443, [::]:8443,
                      [::1]:8443, localhost:8443 (default 127.0.0.1:8443)
  --san NAME          a name or address clients connect by, for the server
                      certificate (repeatable; default: this host's name, its
                      addresses, localhost, 127.0.0.1 and ::1)
  --max-upload SIZE   largest file upload (default 4G)
examples:
  splitpilot broker serve --state ~/.splitpilot/state --listen localhost:8443
  splitpilot broker serve --state /srv/broker --listen 0.0.0.0:8443 --san broker.example.org`;

/** Default certificate names: host name, machine addresses, loopback. */
export function defaultSans(listenHost: string): string[] {
  const names = [listenHost, "localhost", "127.0.0.1", "::1"];
  try {
    names.push(Deno.hostname());
  } catch { /* not permitted: loopback names only */ }
  try {
    for (const i of Deno.networkInterfaces()) names.push(i.address);
  } catch { /* not permitted */ }
  return [
    ...new Set(
      names.filter((n) =>
        n && n !== "0.0.0.0" && n !== "::" && !n.includes("%")
      ),
    ),
  ];
}

/** One clear line for a failure to listen. */
export function listenError(e: unknown, listen: string): string {
  const code = (e as { code?: string })?.code;
  const what = `cannot listen on ${listen}`;
  if (e instanceof Deno.errors.NotCapable) {
    return `${what}: Deno's permissions do not allow it (start it as "splitpilot broker serve", which grants its --listen address)`;
  }
  switch (code) {
    case "EADDRINUSE":
      return `${what}: the port is in use (another broker?); pick another port`;
    case "EACCES":
    case "EPERM":
      return `${what}: permission denied (ports below 1024 need privileges)`;
    case "EADDRNOTAVAIL":
    case "EINVAL":
      return `${what}: this machine has no such address`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `${what}: unknown host name`;
  }
  return `${what}: ${(e as Error)?.message ?? e}`;
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
    throw new UsageError(
      `--${name} ${raw}: expected a ${
        opts.positive ? "positive" : "non-negative"
      } ${opts.integer ? "whole " : ""}number`,
    );
  }
  return v;
}

/**
 * `--db` (or `SPLITPILOT_DB`) and `--files`: where the queue and the file
 * store live when they are not in the state dir.
 */
function storeFlags(
  db: string | undefined,
  files: string | undefined,
): { db?: string; filesDir?: string } {
  let env: string | undefined;
  try {
    env = Deno.env.get("SPLITPILOT_DB") || undefined;
  } catch { /* not permitted: flags only */ }
  const url = db ?? env;
  if (url !== undefined && /^postgres(ql)?:/i.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new UsageError(
        `--db: not a URL; expected postgres://USER@HOST:PORT/DATABASE`,
      );
    }
  }
  if (files === "") throw new UsageError("--files DIR: empty directory name");
  return {
    ...(url === undefined ? {} : { db: url }),
    ...(files === undefined ? {} : { filesDir: files }),
  };
}

/** Parses `--quota USER=N` values. */
export function parseQuotas(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=\s]+)=(\d{1,9})$/.exec(v);
    if (!m) {
      throw new UsageError(
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
    throw new UsageError(`--max-upload ${(e as Error).message}`);
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
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  const json = wantsJson(args);
  let flags;
  let listen;
  let policy;
  try {
    flags = parseFlags(args, {
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
        "db",
        "files",
      ],
      collect: ["quota", "san"],
      boolean: ["help", "json"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(BROKER_USAGE);
      return EXIT.ok;
    }
    const [sub, extra] = flags._;
    if (sub !== "serve") {
      throw new UsageError(
        sub === undefined
          ? "missing subcommand (expected serve)"
          : `unknown subcommand "${sub}" (expected serve)`,
      );
    }
    if (extra !== undefined) {
      throw new UsageError(`unexpected argument "${extra}"`);
    }
    if (!flags.state) throw new UsageError("--state DIR is required");
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
      ...storeFlags(flags.db, flags.files),
      exitWhenDead: true,
    };
  } catch (e) {
    return fail(io, e, { usage: BROKER_USAGE, json });
  }
  const sans: string[] = flags.san.length
    ? flags.san
    : defaultSans(listen.hostname);
  let broker;
  try {
    broker = await startBroker({
      stateDir: flags.state,
      ...listen,
      hosts: sans,
      ...policy,
    });
  } catch (e) {
    const known = (e as { code?: string })?.code !== undefined ||
      e instanceof Deno.errors.NotCapable;
    return fail(
      io,
      known
        ? new CliFailure(
          EXIT.failure,
          listenError(e, flags.listen ?? "127.0.0.1:8443"),
          "listen_failed",
        )
        : e,
      { json },
    );
  }
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  // Said only now: a supervisor may send SIGTERM as soon as it reads it.
  io.out(`broker listening on ${broker.url}`);
  io.out(`certificate names: ${sans.join(", ")}`);
  await stop.promise;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  await broker.close();
  io.err("broker stopped");
  return EXIT.ok;
}

/**
 * What the user commands (`submit`, `ps`, `trace`, `kill`, `resubmit`,
 * `get`) share: the `--broker`/`--token` flags with their environment
 * defaults, one mapping from failures to exit codes, and table output.
 *
 * Exit codes (every user command):
 * - 0: done;
 * - 1: failure (broker unreachable, server error, checksum mismatch, I/O);
 * - 2: bad usage or input (unknown flag, missing argument, unreadable or
 *   invalid JDL: the broker's 400/413);
 * - 3: not found or not allowed (401, 403, 404);
 * - 4: refused because of the job's state (409, e.g. killing a finished
 *   job).
 *
 * @module
 */
import {
  BrokerClient,
  BrokerError,
  readTokenDir,
} from "../client/broker_client.ts";
import { ArgsError, parseArgs } from "../std/cli.ts";
import type { CliIo } from "./ca_cmd.ts";

/** Environment variable naming the broker URL. */
export const BROKER_ENV = "SPLITPILOT_BROKER";
/** Environment variable naming the USER token directory. */
export const TOKEN_ENV = "SPLITPILOT_TOKEN";

/** Usage text of the common flags. */
export const COMMON_FLAGS =
  `  --broker URL   broker base URL (default: $${BROKER_ENV})
  --token DIR    USER token directory with cert.pem, key.pem, ca.pem (default: $${TOKEN_ENV})
  --json         machine-readable output (stable keys)`;

/** Bad usage: exit code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure with its own exit code and message. */
export class CliFailure extends Error {
  /** Exit code. */
  readonly code: number;
  /** Creates the error. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "CliFailure";
    this.code = code;
  }
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Builds the client from `--broker`/`--token` or the environment. */
export async function connect(
  flags: Readonly<Record<string, unknown>>,
): Promise<BrokerClient> {
  const url = (flags.broker as string | undefined) ?? env(BROKER_ENV);
  const dir = (flags.token as string | undefined) ?? env(TOKEN_ENV);
  if (!url) {
    throw new UsageError(
      `no broker: pass --broker https://HOST:PORT or set ${BROKER_ENV}`,
    );
  }
  if (!/^https:\/\/[^/]+/.test(url)) {
    throw new UsageError(
      `--broker ${url}: expected an https:// URL, e.g. https://127.0.0.1:8443`,
    );
  }
  if (!dir) {
    throw new UsageError(
      `no token: pass --token DIR (cert.pem, key.pem, ca.pem) or set ${TOKEN_ENV}`,
    );
  }
  let token;
  try {
    token = await readTokenDir(dir);
  } catch (e) {
    throw new UsageError(
      `cannot read the token in ${dir} (expected cert.pem, key.pem, ca.pem): ${
        (e as Error).message
      }`,
    );
  }
  try {
    return new BrokerClient(url, token);
  } catch (e) {
    throw new UsageError(
      `the token in ${dir} is not usable: ${(e as Error).message}`,
    );
  }
}

/** Exit code of a failure; see the module doc. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof ArgsError) return 2;
  if (e instanceof CliFailure) return e.code;
  if (e instanceof BrokerError) {
    if (e.status === 400 || e.status === 413) return 2;
    if (e.status === 401 || e.status === 403 || e.status === 404) return 3;
    if (e.status === 409) return 4;
  }
  return 1;
}

/** Prints `error: …` for `e` and returns its exit code. */
export function fail(io: CliIo, e: unknown, usage?: string): number {
  const code = exitCodeOf(e);
  io.err(`error: ${(e as Error)?.message ?? String(e)}`);
  if (usage && (e instanceof UsageError || e instanceof ArgsError)) {
    io.err(usage);
  }
  return code;
}

/** Checks a job ID argument. */
export function jobIdArg(positionals: string[], usage: string): string {
  const [id, extra] = positionals;
  if (id === undefined) throw new UsageError(`missing job ID\n${usage}`);
  if (extra !== undefined) {
    throw new UsageError(`unexpected argument "${extra}"\n${usage}`);
  }
  if (!/^\d{1,18}$/.test(id)) {
    throw new UsageError(`job ID "${id}": expected a number, e.g. 42`);
  }
  return id;
}

/** Lines of a left-aligned table; `undefined`/`null` cells print `-`. */
export function table(
  headers: string[],
  rows: (string | number | null | undefined)[][],
): string[] {
  const cells = rows.map((r) =>
    r.map((c) => c === null || c === undefined ? "-" : String(c))
  );
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => r[i].length))
  );
  const line = (r: string[]) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)];
}

/** `1.5 GiB` style sizes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** `1h02m`, `3m05s`, `12.3s` style durations. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "-";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A job as the API shows it (see `jobView` in the broker handler). */
export interface JobView {
  /** Job ID. */
  id: string;
  /** Owner. */
  owner: string;
  /** State. */
  state: string;
  /** Priority. */
  priority: number;
  /** Cores. */
  cpuCores: number;
  /** TTL, seconds. */
  ttl: number;
  /** Submitted, ISO time. */
  createdAt: string;
  /** Last change, ISO time. */
  updatedAt: string;
  /** Resubmissions so far. */
  resubmissions: number;
  /** Exit code. */
  exitCode: number | null;
  /** Kill reason code. */
  killReason: number | null;
  /** Agent subject. */
  agent: string | null;
  /** Last usage reported. */
  usage: {
    cpuSeconds: number;
    rssBytes: number;
    maxRssBytes?: number;
    wallSeconds: number;
    diskBytes: number;
  } | null;
  /** Reason of the last transition. */
  message?: string | null;
  /** For a waiting job: the requirement no recent agent met. */
  why?: string;
}

/** A masterjob as the API shows it. */
export interface MasterView {
  /** Master ID. */
  id: string;
  /** Owner. */
  owner: string;
  /** `SPLIT` or `DONE`. */
  state: string;
  /** Always true. */
  master: true;
  /** The Split value. */
  split: string;
  /** Number of subjobs. */
  subjobs: number;
  /** Subjobs by state. */
  counts: Record<string, number>;
  /** Submitted, ISO time. */
  createdAt: string;
  /** Last change, ISO time. */
  updatedAt: string;
}

/** `DONE:48 ERROR_E:2` */
export function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts).map(([s, n]) => `${s}:${n}`).join(" ");
}

/** `2026-01-02 03:04:05` from an ISO time (UTC). */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * The body of a one-job action command (`kill`, `resubmit`): parse
 * `ID [--json]`, POST `/api/v1/jobs/<id>/<action>`, print the new state.
 */
export async function jobActionMain(
  args: string[],
  io: CliIo,
  spec: { action: string; verb: string; usage: string },
): Promise<number> {
  let client;
  try {
    const flags = parseArgs(args, {
      string: ["broker", "token"],
      boolean: ["json", "help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(spec.usage);
      return 0;
    }
    const id = jobIdArg(flags._, spec.usage);
    client = await connect(flags);
    const out = (await client.json<{ jobId: string; state: string }>(
      "POST",
      `/api/v1/jobs/${id}/${spec.action}`,
      {},
    ))!;
    io.out(
      flags.json
        ? JSON.stringify({ jobId: out.jobId, state: out.state })
        : `job ${out.jobId}: ${spec.verb}, now ${out.state}`,
    );
    return 0;
  } catch (e) {
    return fail(io, e, spec.usage);
  } finally {
    client?.close();
  }
}

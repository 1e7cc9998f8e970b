/**
 * What the user commands (`submit`, `ps`, `trace`, `kill`, `resubmit`,
 * `get`, `put`, `ls`, `cat`) share: the `--broker`/`--token` flags with
 * their environment and config-file defaults, and table output. Errors and
 * exit codes are in `cli_io.ts`.
 *
 * @module
 */
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import { CliFailure, EXIT, UsageError } from "./cli_io.ts";
import { BROKER_ENV, loadSettings, TOKEN_ENV } from "./config.ts";

// Commands written against the old layout import these from here.
export { CliFailure, exitCodeOf, fail, UsageError } from "./cli_io.ts";

/** Usage text of the common flags. */
export const COMMON_FLAGS =
  `  --broker URL   broker base URL (default: $${BROKER_ENV}, else the config file)
  --token DIR    USER token directory with cert.pem, key.pem, ca.pem
                 (default: $${TOKEN_ENV}, else the config file, else ~/.splitpilot/user)
  --json         machine-readable output; errors too: {"error","reason"}`;

/** The flags every user command takes. */
export const USER_FLAGS = {
  string: ["broker", "token"],
  boolean: ["json", "help"],
} as const;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the client from `--broker`/`--token`, the environment or the
 * config file (see `config.ts`).
 */
export async function connect(
  flags: Readonly<Record<string, unknown>>,
): Promise<BrokerClient> {
  const settings = await loadSettings({
    broker: flags.broker as string | undefined,
    token: flags.token as string | undefined,
  }, env);
  // Every configured broker: the client fails over between replicas.
  const url = settings.broker.value?.join(",");
  const dir = settings.token.value;
  if (!url) {
    throw new UsageError(
      `no broker: pass --broker https://HOST:PORT, set ${BROKER_ENV}, or put "broker = URL" in ${
        settings.file.value ?? "~/.splitpilot/config"
      }`,
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
    throw new CliFailure(
      EXIT.usage,
      `cannot read the token in ${dir} (${settings.token.source}; expected cert.pem, key.pem, ca.pem): ${
        (e as Error).message
      }`,
      "no_token",
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

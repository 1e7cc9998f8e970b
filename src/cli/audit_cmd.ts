/**
 * `splitpilot audit LOG... --role agent|wrapper|broker [context]`: replays
 * `DENO_AUDIT_PERMISSIONS` logs against the role's row of the permission
 * table and prints accesses per kind and everything outside the table.
 *
 * The context is either `--context JSON` (or `--context @FILE`) with the
 * fields of the role's context in `src/permissions/table.ts`, or the site
 * layout of the built artefacts: `--work-dir W --broker H:P` (agent),
 * `--sandbox DIR [--payload P]...` (wrapper, which has no network; the sandbox
 * defaults to `/workdir`), `--state DIR --broker LISTEN` (broker).
 *
 * Exit codes: 0 every access within the table, 1 something outside it
 * (or a log could not be read), 2 bad usage.
 *
 * @module
 */
import type { ProcessRole } from "../permissions/table.ts";
import {
  AuditContextError,
  auditRecords,
  formatAuditReport,
  parseAuditLog,
  roleTable,
} from "../audit/mod.ts";
import {
  gunzipText,
  shippedHeader,
  type ShippedLogHeader,
} from "../audit/job_verdict.ts";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  messageOf,
  parseFlags as parseArgs,
  UsageError,
} from "./cli_io.ts";

/** Usage text. */
export const AUDIT_USAGE =
  `usage: splitpilot audit LOG... --role agent|wrapper|broker [--verbose] [--json]
  context, one of:
    --context JSON|@FILE                      the role's table context (src/permissions/table.ts)
    --work-dir W --broker H:P                 agent: a built agent's site work dir
    [--sandbox DIR] [--payload P]...          wrapper (sandbox default /workdir; no network)
    (none)                                    wrapper: a job's shipped audit.jsonl.gz names its table
    --state DIR --broker LISTEN               broker
  LOG may hold other lines too (e.g. an agent's stderr with the wrappers' records).
  exit: 0 all within the table, 1 something outside it, 2 bad usage
examples:
  DENO_AUDIT_PERMISSIONS=agent.jsonl splitpilot agent --token agent --work work --max-empty 1
  splitpilot audit agent.jsonl --role agent --context @agent-context.json
  splitpilot audit broker.jsonl --role broker --state ~/.splitpilot/state --broker 127.0.0.1:8443
  splitpilot get 42 && splitpilot audit audit.jsonl.gz --role wrapper`;

const ROLES: readonly ProcessRole[] = ["agent", "wrapper", "broker"];

/** The logs' text; gzipped ones (a job's `audit.jsonl.gz`) unpacked. */
async function readLogs(files: readonly string[]): Promise<string> {
  let text = "";
  for (const file of files) {
    const bytes = await Deno.readFile(file);
    text += (bytes[0] === 0x1f && bytes[1] === 0x8b
      ? await gunzipText(bytes)
      : new TextDecoder().decode(bytes)) + "\n";
  }
  return text;
}

async function readContext(
  value: string,
): Promise<Record<string, unknown>> {
  const text = value.startsWith("@")
    ? await Deno.readTextFile(value.slice(1))
    : value;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new AuditContextError(
      `--context: not valid JSON (${(e as Error).message}); expected an object`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new AuditContextError("--context: expected a JSON object");
  }
  return v as Record<string, unknown>;
}

/**
 * Replays `DENO_AUDIT_PERMISSIONS` logs against the role table and prints
 * every access outside it; exit 1 when there is one. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./audit_cmd.ts";
 * Deno.exit(await main([
 *   "/tmp/agent-audit.jsonl", "--role", "agent", "--broker",
 *   "127.0.0.1:8443", "--work", "/scratch/pilot",
 * ]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let table;
  let shipped: ShippedLogHeader | undefined;
  let role: ProcessRole;
  let f;
  try {
    f = parseArgs(args, {
      string: ["role", "context", "work-dir", "sandbox", "state", "broker"],
      collect: ["payload"],
      boolean: ["verbose", "json", "help"],
    });
    if (f.help) {
      io.out(AUDIT_USAGE);
      return 0;
    }
    if (!ROLES.includes(f.role as ProcessRole)) {
      throw new UsageError(
        `--role ${f.role ?? "(missing)"}: expected agent, wrapper or broker`,
      );
    }
    role = f.role as ProcessRole;
    if (f._.length === 0) {
      throw new UsageError(`at least one LOG file is required`);
    }
    // A log a job shipped names its table: no context needed.
    shipped = role === "wrapper" && !f.context && !f.broker
      ? await readLogs(f._).then(shippedHeader, () => undefined)
      : undefined;
    table = shipped?.table ?? roleTable({
      role,
      context: f.context ? await readContext(f.context) : undefined,
      workDir: f["work-dir"],
      sandbox: f.sandbox,
      payload: f.payload,
      stateDir: f.state,
      broker: f.broker,
    });
  } catch (e) {
    // Everything before reading the logs is about the command line.
    return fail(io, e instanceof UsageError ? e : new UsageError(messageOf(e)));
  }
  let text = "";
  try {
    text = await readLogs(f._);
  } catch (e) {
    io.err(`error: cannot read the log: ${(e as Error).message}`);
    return 1;
  }
  const log = parseAuditLog(text);
  // The header line of a shipped log is not a stray line.
  if (shipped) log.skipped = Math.max(0, log.skipped - 1);
  const report = auditRecords(log.records, table, {
    role,
    skipped: log.skipped,
  });
  if (f.json) io.out(JSON.stringify(report, null, 2));
  else io.out(formatAuditReport(report, { verbose: f.verbose }));
  return report.outside.length === 0 ? 0 : 1;
}

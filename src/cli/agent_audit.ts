/**
 * The agent under permission audit, where that is cheap: `splitpilot
 * agent` starts it with `DENO_AUDIT_PERMISSIONS=W/agent-audit.jsonl` when
 * the work root `W` exists (Deno opens the file before the agent runs,
 * and the CLI may not create directories), and checks the file against
 * the agent's row of the table when the agent exits — the same check as
 * `splitpilot audit --role agent`. `--audit off` turns it off as well.
 *
 * @example
 * ```ts ignore
 * import { agentAuditSummary } from "./agent_audit.ts";
 * await agentAuditSummary("/scratch/w/agent-audit.jsonl", table);
 * // "agent audit: 212 checks (read 80, write 61, net 64, env 7); …; 0 outside the table"
 * ```
 *
 * @module
 */
import { parseAuditLog } from "../audit/audit_record.ts";
import { auditRecords } from "../audit/audit_report.ts";
import type { PermissionSet } from "../permissions/table.ts";
import {
  AUDIT_FLAG,
  AUDIT_NOT_LOGGED,
  MAX_LISTED_OUTSIDE,
} from "../protocol/audit_verdict.ts";

/** Name of the agent's audit log in its work root. */
export const AGENT_AUDIT_FILE = "agent-audit.jsonl";

/**
 * The audit log path for an agent with work root `workRoot`, or why there
 * is none (`off` given, the caller's own `DENO_AUDIT_PERMISSIONS`, or no
 * work root yet).
 */
export function agentAuditFile(
  workRoot: string,
  opts: { off: boolean; inherited?: string },
): { file?: string; why?: string } {
  if (opts.off) return { why: "off (--audit off)" };
  if (opts.inherited) {
    return { why: `left to DENO_AUDIT_PERMISSIONS=${opts.inherited}` };
  }
  try {
    if (!Deno.statSync(workRoot).isDirectory) throw new Error();
  } catch {
    return { why: `off (work root ${workRoot} does not exist yet)` };
  }
  return { file: `${workRoot}/${AGENT_AUDIT_FILE}` };
}

/** The agent's audit log checked against `table`, as one line. */
export async function agentAuditSummary(
  file: string,
  table: PermissionSet,
): Promise<{ line: string; outside: number }> {
  const log = parseAuditLog(await Deno.readTextFile(file));
  const report = auditRecords(log.records, table, { role: "agent" });
  const kinds = report.kinds.filter((k) => k.checks > 0).map((k) =>
    `${k.kind} ${k.checks}`
  ).join(", ");
  const n = report.outside.length;
  const out = n === 0
    ? "0 outside the table"
    : `${n} outside the table: ${
      report.outside.slice(0, MAX_LISTED_OUTSIDE).map((o) =>
        `${o.kind} ${JSON.stringify(o.value)} (${o.count}×)`
      ).join(", ")
    }`;
  return {
    line: `agent audit: ${
      n ? `${AUDIT_FLAG}: ` : ""
    }${report.records} checks (${kinds || "none"}); ${
      AUDIT_NOT_LOGGED.join(", ")
    } not logged by Deno; ${out}; log ${file}`,
    outside: n,
  };
}

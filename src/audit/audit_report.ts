/**
 * Replays a permission audit log against a role's row of the table: how
 * many checks of each kind, which values, and every access the table does
 * not grant.
 *
 * Read a report with Deno's logging in mind: every check is logged,
 * refused ones exactly like granted ones, so an "outside" entry means the
 * process *asked* for something its role should never need — whether the
 * runtime let it through depends on the flags it ran with. And Deno 2.9.6
 * logs no `--allow-run` checks at all.
 *
 * @module
 */
import type { PermissionSet, ProcessRole } from "../permissions/table.ts";
import type { AuditRecord } from "./audit_record.ts";
import { accessAllowed, netTarget } from "./check_access.ts";

/** Counts of one permission kind. */
export interface KindSummary {
  /** Permission kind. */
  kind: string;
  /** Checks logged. */
  checks: number;
  /** Checks outside the table. */
  outside: number;
  /** Distinct values with their counts (`*` for a whole-kind check). */
  values: { value: string; count: number; allowed: boolean }[];
}

/** One distinct access the table does not grant. */
export interface OutsideAccess {
  /** Permission kind. */
  kind: string;
  /** The value (`*` for a whole-kind check). */
  value: string;
  /** How often it was checked. */
  count: number;
}

/** The result of {@link auditRecords}. */
export interface AuditReport {
  /** The role audited. */
  role: ProcessRole;
  /** Records read. */
  records: number;
  /** Non-record lines skipped. */
  skipped: number;
  /** Per kind, sorted by kind. */
  kinds: KindSummary[];
  /** Everything outside the table, sorted by kind and value. */
  outside: OutsideAccess[];
  /** The permission set the records were checked against. */
  table: PermissionSet;
}

/** Kinds Deno has; the report always lists these, logged or not. */
export const PERMISSION_KINDS: readonly string[] = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "sys",
  "ffi",
  "import",
];

/** Checks every record against `table` (the role's row for its context). */
export function auditRecords(
  records: readonly AuditRecord[],
  table: PermissionSet,
  opts: { role: ProcessRole; skipped?: number },
): AuditReport {
  const byKind = new Map<string, Map<string, { n: number; ok: boolean }>>();
  for (const k of PERMISSION_KINDS) byKind.set(k, new Map());
  for (const r of records) {
    const values = byKind.get(r.permission) ?? new Map();
    byKind.set(r.permission, values);
    // fetch logs the URL and then host:port; count the target once per form.
    const key = r.value === null
      ? "*"
      : r.permission === "net"
      ? netTarget(r.value)
      : r.value;
    const e = values.get(key) ?? { n: 0, ok: accessAllowed(r, table) };
    e.n++;
    values.set(key, e);
  }
  const kinds: KindSummary[] = [];
  const outside: OutsideAccess[] = [];
  for (const [kind, values] of [...byKind].sort(kindOrder)) {
    const list = [...values].map(([value, e]) => ({
      value,
      count: e.n,
      allowed: e.ok,
    })).sort((a, b) => a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
    kinds.push({
      kind,
      checks: list.reduce((a, v) => a + v.count, 0),
      outside: list.filter((v) => !v.allowed).reduce((a, v) => a + v.count, 0),
      values: list,
    });
    for (const v of list) {
      if (!v.allowed) outside.push({ kind, value: v.value, count: v.count });
    }
  }
  return {
    role: opts.role,
    records: records.length,
    skipped: opts.skipped ?? 0,
    kinds,
    outside,
    table,
  };
}

function kindOrder(a: [string, unknown], b: [string, unknown]): number {
  const ia = PERMISSION_KINDS.indexOf(a[0]);
  const ib = PERMISSION_KINDS.indexOf(b[0]);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a[0] < b[0] ? -1 : 1);
}

/** The two facts a reader of the summary must know, said plainly. */
export const AUDIT_NOTES: readonly string[] = [
  "Deno logs every permission check, and a REFUSED check is logged exactly like a granted one: a line means the process asked, not that it got it. 'outside' = not granted by the role's table.",
  "Deno 2.9.6 writes no record for --allow-run checks (granted or refused): the run column stays empty; run access is bounded by the launcher's --allow-run flag only.",
];

/** The report as text (the `splitpilot audit` output). */
export function formatAuditReport(
  report: AuditReport,
  opts: { verbose?: boolean } = {},
): string {
  const lines = [
    `permission audit of role ${report.role}: ${report.records} record(s)${
      report.skipped ? `, ${report.skipped} non-audit line(s) skipped` : ""
    }`,
    ...AUDIT_NOTES.map((n) => `note: ${n}`),
    "",
    `${"kind".padEnd(8)}${"checks".padStart(8)}${"distinct".padStart(10)}${
      "outside".padStart(9)
    }  granted by the table`,
  ];
  for (const k of report.kinds) {
    const grant = (report.table as unknown as Record<string, string[]>)[
      k.kind
    ];
    lines.push(
      `${k.kind.padEnd(8)}${String(k.checks).padStart(8)}${
        String(k.values.length).padStart(10)
      }${String(k.outside).padStart(9)}  ${
        grant === undefined
          ? "(never)"
          : grant.length
          ? grant.join(",")
          : "(nothing)"
      }${k.kind === "run" && k.checks === 0 ? "  [not logged by Deno]" : ""}`,
    );
    if (opts.verbose) {
      for (const v of k.values) {
        lines.push(
          `    ${v.allowed ? "ok     " : "OUTSIDE"} ${v.value} (${v.count}×)`,
        );
      }
    }
  }
  lines.push("");
  if (report.outside.length === 0) {
    lines.push(
      `result: OK: every logged access is within the ${report.role} row of the table`,
    );
  } else {
    lines.push(`outside the ${report.role} row of the table:`);
    for (const o of report.outside) {
      lines.push(`  ${o.kind} ${o.value} (${o.count}×)`);
    }
    lines.push(
      `result: FAIL: ${report.outside.length} distinct access(es) outside the table`,
    );
  }
  return lines.join("\n");
}

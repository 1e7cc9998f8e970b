/**
 * The verdict on one job's wrapper: its audit records checked against the
 * wrapper's row of the table with the same code as `splitpilot audit`
 * ({@link auditRecords}), and the log shipped with the job's outputs so
 * that anyone can run that check again.
 *
 * The shipped log is JSONL, gzipped: a header line naming the role and the
 * table, then the records as Deno wrote them. When that is too large for
 * one report, the records are deduplicated (one per kind and value, with
 * the first time it was seen), and if that is still too large only the
 * accesses outside the table are kept; the header says which.
 *
 * @example
 * ```ts
 * import { jobVerdict } from "./job_verdict.ts";
 * const table = { net: [], read: ["/workdir"], write: ["/workdir"], run: [], env: [] };
 * const v = await jobVerdict(
 *   [{ v: 1, datetime: "", permission: "read", value: "/etc/passwd" }],
 *   table,
 *   { complete: true },
 * );
 * v.outsideCount; // 1
 * ```
 *
 * @module
 */
import type { PermissionSet } from "../permissions/table.ts";
import {
  type AuditVerdict,
  MAX_LISTED_OUTSIDE,
} from "../protocol/audit_verdict.ts";
import type { AuditRecord } from "./audit_record.ts";
import { auditRecords } from "./audit_report.ts";
import { accessAllowed, netTarget } from "./check_access.ts";

/** First line of a shipped log (not an audit record). */
export interface ShippedLogHeader {
  /** Always `splitpilot-audit`. */
  format: "splitpilot-audit";
  /** The role audited. */
  role: "wrapper";
  /** The row the records were checked against. */
  table: PermissionSet;
  /** `full`, `deduplicated` or `outside-only`. */
  records: "full" | "deduplicated" | "outside-only";
}

/** Largest shipped log (base64 of the gzip) a report carries. */
export const MAX_SHIPPED_BASE64 = 40 * 1024;

/** Options of {@link jobVerdict}. */
export interface VerdictOptions {
  /** Whether the stream reached its end. */
  complete: boolean;
  /** Lines on the stream that were neither records nor the wrapper's. */
  skipped?: number;
  /** Records beyond what the sink kept (counted, not kept). */
  dropped?: number;
  /** Ship the log. @default true */
  ship?: boolean;
}

/** Checks `records` against `table`; the verdict the agent reports. */
export async function jobVerdict(
  records: readonly AuditRecord[],
  table: PermissionSet,
  opts: VerdictOptions,
): Promise<AuditVerdict> {
  const report = auditRecords(records, table, { role: "wrapper" });
  const byKind: Record<string, number> = {};
  for (const k of report.kinds) byKind[k.kind] = k.checks;
  const verdict: AuditVerdict = {
    mode: "on",
    records: report.records,
    byKind,
    outsideCount: report.outside.length,
    outside: report.outside.slice(0, MAX_LISTED_OUTSIDE),
    skipped: opts.skipped ?? 0,
    complete: opts.complete,
  };
  if (opts.dropped) {
    verdict.note =
      `${opts.dropped} repeated record(s) past the sink's limit not kept (counts are low)`;
  }
  if (opts.ship !== false) {
    const log = await shippedLog(records, table);
    if (log) verdict.log = log;
    else {verdict.note = [verdict.note, "log too large to ship"].filter((x) =>
        x
      )
        .join("; ");}
  }
  return verdict;
}

/**
 * The log to ship, base64 of gzipped JSONL, at most
 * {@link MAX_SHIPPED_BASE64}; `undefined` when even the outside-only form
 * is larger.
 */
export async function shippedLog(
  records: readonly AuditRecord[],
  table: PermissionSet,
): Promise<string | undefined> {
  const forms: [ShippedLogHeader["records"], readonly AuditRecord[]][] = [
    ["full", records],
    ["deduplicated", dedupe(records)],
    ["outside-only", dedupe(records).filter((r) => !accessAllowed(r, table))],
  ];
  for (const [form, list] of forms) {
    const header: ShippedLogHeader = {
      format: "splitpilot-audit",
      role: "wrapper",
      table,
      records: form,
    };
    const text = [JSON.stringify(header), ...list.map(recordLine)].join("\n") +
      "\n";
    const b64 = toBase64(await gzip(new TextEncoder().encode(text)));
    if (b64.length <= MAX_SHIPPED_BASE64) return b64;
  }
  return undefined;
}

/** Reads the header of a shipped log's text, if it has one. */
export function shippedHeader(text: string): ShippedLogHeader | undefined {
  const first = text.slice(0, text.indexOf("\n") >>> 0);
  if (!first.startsWith('{"format":"splitpilot-audit"')) return undefined;
  try {
    const h = JSON.parse(first) as ShippedLogHeader;
    return h.format === "splitpilot-audit" && typeof h.table === "object"
      ? h
      : undefined;
  } catch {
    return undefined;
  }
}

/** One record in Deno's own form (so the log reads like Deno's). */
function recordLine(r: AuditRecord): string {
  return JSON.stringify({
    v: r.v,
    datetime: r.datetime,
    permission: r.permission,
    value: r.value,
  });
}

function dedupe(records: readonly AuditRecord[]): AuditRecord[] {
  const seen = new Set<string>();
  const out: AuditRecord[] = [];
  for (const r of records) {
    const v = r.value === null
      ? "*"
      : r.permission === "net"
      ? netTarget(r.value)
      : r.value;
    const key = `${r.permission}\0${v}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Decompresses a shipped log (gzip bytes) to its text. */
export async function gunzipText(bytes: Uint8Array): Promise<string> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return await new Response(s).text();
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

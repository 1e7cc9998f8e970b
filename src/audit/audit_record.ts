/**
 * Records of Deno's permission audit log (`DENO_AUDIT_PERMISSIONS=FILE`).
 *
 * Verified on Deno 2.9.6: one JSON object per line,
 * `{"v":1,"datetime":"…","permission":"read","value":"/etc/hostname"}`,
 * for every permission check — a refused check is logged exactly like a
 * granted one. `value` is a path (read, write, ffi), `host:port` or a URL
 * (net; `fetch` logs both), a variable name (env), a sys API name (sys),
 * or `null` for "everything of this kind" (e.g. `Deno.env.toObject()`).
 * Checks of `--allow-run` are not logged at all, granted or refused.
 *
 * @module
 */

/** One audit record. */
export interface AuditRecord {
  /** Format version (1). */
  v: number;
  /** When, ISO 8601. */
  datetime: string;
  /** Permission kind: read, write, net, env, sys, run, ffi, import. */
  permission: string;
  /** What was checked; `null` means the whole kind. */
  value: string | null;
}

/** A parsed log. */
export interface ParsedAuditLog {
  /** The records, in order. */
  records: AuditRecord[];
  /**
   * Lines that are not audit records (a log taken from a stderr stream
   * also holds the program's own lines).
   */
  skipped: number;
}

function isRecord(v: unknown): v is AuditRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.v === "number" && typeof r.permission === "string" &&
    (typeof r.value === "string" || r.value === null);
}

/**
 * Parses audit log text. Lines that do not hold an audit record are
 * counted in `skipped`, not rejected, so the wrapper's records can be read
 * from the agent's stderr where they are mixed with log lines.
 */
export function parseAuditLog(text: string): ParsedAuditLog {
  const records: AuditRecord[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    const pieces = recordPieces(line);
    if (pieces === undefined) {
      if (line.trim() !== "") skipped++;
      continue;
    }
    for (const t of pieces) {
      const r = parseRecord(t);
      if (r) records.push(r);
      else skipped++;
    }
  }
  return { records, skipped };
}

/**
 * The candidate records of one line: it is cut before every `{"v":`. A
 * real record holds that text only at its start (Deno escapes the quotes
 * in values), so a partial line someone else wrote in front of a record
 * spoils only itself, never the record after it. `undefined`: no record
 * starts on this line.
 */
function recordPieces(line: string): string[] | undefined {
  const first = line.indexOf(RECORD_START);
  if (first < 0) return undefined;
  const out: string[] = [];
  if (line.slice(0, first).trim() !== "") out.push(line.slice(0, first));
  let at = first;
  while (at >= 0) {
    const next = line.indexOf(RECORD_START, at + 1);
    out.push(line.slice(at, next < 0 ? undefined : next).trim());
    at = next;
  }
  return out;
}

const RECORD_START = '{"v":';

function parseRecord(t: string): AuditRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  return {
    v: v.v,
    datetime: typeof v.datetime === "string" ? v.datetime : "",
    permission: v.permission,
    value: v.value,
  };
}

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
    const t = line.trim();
    if (t === "") continue;
    if (!t.startsWith('{"v":')) {
      skipped++;
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      skipped++;
      continue;
    }
    if (isRecord(v)) {
      records.push({
        v: v.v,
        datetime: typeof v.datetime === "string" ? v.datetime : "",
        permission: v.permission,
        value: v.value,
      });
    } else skipped++;
  }
  return { records, skipped };
}

/**
 * The permission-audit verdict of one wrapper process, as the agent sends
 * it with the job's outcome and the broker files it: a summary line in the
 * job's trace, a flag word when something fell outside the role table,
 * and (optionally) the shipped log.
 *
 * A violation is a flag on the job's final state, not a state of its own:
 * the payload may well have done its work (`DONE`), and JAliEn's
 * `ERROR_V` already means "the job's validation failed". The trace line
 * starts with {@link AUDIT_FLAG} instead, so `splitpilot trace` and the
 * job's message show it next to the state.
 *
 * @module
 */

/** The word that flags a job whose wrapper asked for something outside its table. */
export const AUDIT_FLAG = "AUDIT_VIOLATION";

/** Prefix of every audit line in a trace. */
export const AUDIT_PREFIX = "audit:";

/** Permission kinds Deno 2.9.6 never writes a record for. */
export const AUDIT_NOT_LOGGED: readonly string[] = ["run"];

/** One distinct access outside the table. */
export interface AuditOutside {
  /** Permission kind. */
  kind: string;
  /** What was asked for (`*` for the whole kind). */
  value: string;
  /** How often. */
  count: number;
}

/** Most outside accesses a verdict lists (their number is always exact). */
export const MAX_LISTED_OUTSIDE = 20;

/** The verdict on one wrapper process's audit stream. */
export interface AuditVerdict {
  /** `off`: the site turned the audit off (`--audit off`). */
  mode: "on" | "off";
  /** Records read from the stream. */
  records: number;
  /** Checks per permission kind. */
  byKind: Record<string, number>;
  /** Distinct accesses outside the table (exact). */
  outsideCount: number;
  /** The first {@link MAX_LISTED_OUTSIDE} of them. */
  outside: AuditOutside[];
  /** Lines on the stream that were neither records nor the wrapper's own. */
  skipped: number;
  /** False when the stream was still open at the check (records may be missing). */
  complete: boolean;
  /**
   * The shipped log: gzip of JSONL (a header line with the table, then
   * the records), base64. Absent when off or too large (then the broker
   * ships the summary only).
   */
  log?: string;
  /** Why the audit is off, or what was dropped. */
  note?: string;
}

/**
 * Whether a trace entry is an agent's audit line (a note in the job's
 * state, filed after it ended), not a move of the job.
 */
export function isAuditNote(e: { actor?: string; reason: string }): boolean {
  return e.reason.startsWith(AUDIT_PREFIX) &&
    (e.actor === undefined || e.actor.startsWith("JOB_AGENT:"));
}

/** Whether a verdict flags its job. */
export function isViolation(v: AuditVerdict): boolean {
  return v.mode === "on" && v.outsideCount > 0;
}

/**
 * The trace line of a verdict, e.g. `audit: wrapper 31 checks (read 23,
 * write 4, env 4); run not logged by Deno; 0 outside the table`.
 */
export function auditSummaryLine(v: AuditVerdict): string {
  if (v.mode === "off") {
    return `${AUDIT_PREFIX} off${v.note ? ` (${v.note})` : ""}`;
  }
  const kinds = Object.entries(v.byKind).filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`).join(", ");
  const head = `${AUDIT_PREFIX} ${
    isViolation(v) ? `${AUDIT_FLAG}: ` : ""
  }wrapper ${v.records} checks (${kinds || "none"}); ${
    AUDIT_NOT_LOGGED.join(", ")
  } not logged by Deno (bounded by the launch flags only)`;
  const extra = [
    v.skipped ? `${v.skipped} stray line(s) on the stream` : "",
    v.complete ? "" : "stream still open at the check",
    plain(v.note ?? ""),
  ].filter((x) => x).join("; ");
  const out = v.outsideCount === 0
    ? "0 outside the table"
    : `${v.outsideCount} outside the table: ${
      v.outside.map((o) => `${o.kind} ${plain(o.value)} (${o.count}×)`).join(
        ", ",
      )
    }${v.outside.length < v.outsideCount ? ", …" : ""}`;
  return `${head}; ${out}${extra ? `; ${extra}` : ""}`;
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/g;

/** A value as one line of text: control characters escaped. */
function plain(s: string): string {
  return s.replace(
    CONTROL_CHARS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

const KIND = /^[a-z]{1,16}$/;

function count(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

/**
 * Checks a verdict from a request body; returns a one-line reason when it
 * is malformed (the broker answers 400 with it), else `undefined`.
 */
export function verdictProblem(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    return '"audit" must be an object';
  }
  const v = x as Record<string, unknown>;
  if (v.mode !== "on" && v.mode !== "off") {
    return '"audit.mode" must be "on" or "off"';
  }
  for (const k of ["records", "outsideCount", "skipped"]) {
    if (!count(v[k])) return `"audit.${k}" must be a whole number`;
  }
  if (typeof v.complete !== "boolean") {
    return '"audit.complete" must be a boolean';
  }
  const by = v.byKind;
  if (
    typeof by !== "object" || by === null || Array.isArray(by) ||
    Object.entries(by).some(([k, n]) => !KIND.test(k) || !count(n))
  ) {
    return '"audit.byKind" must map permission kinds to whole numbers';
  }
  if (
    !Array.isArray(v.outside) || v.outside.length > MAX_LISTED_OUTSIDE ||
    v.outside.some((o) =>
      typeof o !== "object" || o === null || !KIND.test(o.kind) ||
      typeof o.value !== "string" || o.value.length > 4096 || !count(o.count)
    )
  ) {
    return `"audit.outside" must list at most ${MAX_LISTED_OUTSIDE} {kind, value, count}`;
  }
  if ((v.outsideCount as number) < v.outside.length) {
    return '"audit.outsideCount" is smaller than the list';
  }
  if (v.log !== undefined && typeof v.log !== "string") {
    return '"audit.log" must be base64 text';
  }
  if (
    v.note !== undefined && (typeof v.note !== "string" || v.note.length > 500)
  ) {
    return '"audit.note" must be a short string';
  }
  return undefined;
}

/**
 * The agent's end of one wrapper process's permission audit stream.
 *
 * Every wrapper runs with `DENO_AUDIT_PERMISSIONS=/dev/stderr` (or, under
 * a runtime that gives it another uid, a FIFO relayed to that stderr:
 * `audit_relay.ts`): its runtime writes one JSON record per permission
 * check, with one `write` each and before the check returns, into the
 * stderr pipe whose read end only the agent holds (README "Threat model",
 * permission audit). Nothing
 * of it is on a disk the payload could reach, so there is nothing to
 * delete or truncate, and the payload never gets that pipe: its own
 * stdout and stderr are separate pipes into the wrapper, and it runs as
 * another uid, so `/proc/<wrapper>/fd/2` is closed to it.
 *
 * The same pipe carries the wrapper's own log lines (each starts with
 * `[wrapper`, control characters escaped) and the container runtime's
 * messages: the sink keeps the records and hands everything else on.
 * The sink lives as long as the wrapper process, so the verdict covers
 * its whole life (a pre-started wrapper's idle time included).
 *
 * @example
 * ```ts
 * import { AuditSink } from "./audit_sink.ts";
 * const sink = new AuditSink();
 * const rest = sink.take(new TextEncoder().encode(
 *   '[wrapper] up\n{"v":1,"datetime":"","permission":"read","value":"/workdir"}\n',
 * ));
 * rest; // "[wrapper] up\n"
 * sink.records.length; // 1
 * ```
 *
 * @module
 */
import { type AuditRecord, parseAuditLog } from "../audit/audit_record.ts";
import { jobVerdict } from "../audit/job_verdict.ts";
import type { PermissionSet } from "../permissions/table.ts";
import type { AuditVerdict } from "../protocol/audit_verdict.ts";

/** Options of {@link AuditSink}. */
export interface AuditSinkOptions {
  /** Pass the records on as well (`--wrapper-audit /dev/stderr`). @default false */
  echo?: boolean;
  /**
   * Records kept in full; past this, one per distinct kind and value.
   * @default 100000
   */
  maxRecords?: number;
}

const START = '{"v":';

/** See the module doc. */
export class AuditSink {
  /** The records so far (at most `maxRecords`). */
  readonly records: AuditRecord[] = [];
  #dropped = 0;
  #skipped = 0;
  #partial = "";
  #dec = new TextDecoder();
  #echo: boolean;
  #max: number;
  /** Kind and value of every record past the limit that was kept. */
  #distinct = new Set<string>();

  /** @param opts see {@link AuditSinkOptions} */
  constructor(opts: AuditSinkOptions = {}) {
    this.#echo = opts.echo ?? false;
    this.#max = opts.maxRecords ?? 100_000;
  }

  /**
   * Takes one chunk of the stream; returns the text that is not audit
   * records (complete lines), to be passed on.
   */
  take(chunk: Uint8Array): string {
    const text = this.#partial + this.#dec.decode(chunk, { stream: true });
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.#partial = text;
      return "";
    }
    this.#partial = text.slice(cut + 1);
    return this.#lines(text.slice(0, cut + 1));
  }

  /** The rest of the stream at its end (a last line without newline). */
  flush(): string {
    const rest = this.#partial + this.#dec.decode();
    this.#partial = "";
    return rest ? this.#lines(rest + "\n") : "";
  }

  #lines(text: string): string {
    if (!text.includes(START)) return text;
    let out = "";
    for (const line of text.split("\n").slice(0, -1)) {
      if (!line.includes(START)) {
        out += line + "\n";
        continue;
      }
      const p = parseAuditLog(line);
      this.#skipped += p.skipped;
      for (const r of p.records) {
        if (this.records.length < this.#max) {
          this.records.push(r);
          continue;
        }
        // Past the limit, each kind and value is kept once: the check
        // stays exact (it is about distinct accesses), counts do not.
        const key = `${r.permission}\0${r.value}`;
        if (this.#distinct.has(key)) this.#dropped++;
        else {
          this.#distinct.add(key);
          this.records.push(r);
        }
      }
      if (this.#echo) out += line + "\n";
    }
    return out;
  }

  /** Checks what the stream held against `table`. */
  verdict(
    table: PermissionSet,
    opts: { complete: boolean; ship?: boolean },
  ): Promise<AuditVerdict> {
    return jobVerdict(this.records, table, {
      complete: opts.complete,
      skipped: this.#skipped,
      dropped: this.#dropped,
      ship: opts.ship,
    });
  }
}

/**
 * Reads a wrapper's stderr to its end: records into `sink` (when the
 * wrapper is audited), everything else to `onText`. Resolves `true` once
 * the stream ended (every writer closed it).
 */
export async function pumpStderr(
  stream: ReadableStream<Uint8Array>,
  sink: AuditSink | undefined,
  onText: (text: string) => Promise<unknown> | unknown,
): Promise<boolean> {
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    const text = sink ? sink.take(chunk) : dec.decode(chunk, { stream: true });
    if (text) await onText(text);
  }
  const rest = sink ? sink.flush() : dec.decode();
  if (rest) await onText(rest);
  return true;
}

/** What the agent knows about a launch's audit. */
export interface LaunchAudit {
  /** The wrapper's row of the table. */
  table?: PermissionSet;
  /** Whether its audit stream is on stderr. */
  audit?: boolean;
  /** Pass the records on to the agent's stderr too. */
  auditEcho?: boolean;
}

/** The sink for a launch, or `undefined` when it is not audited. */
export function sinkFor(launch: LaunchAudit): AuditSink | undefined {
  return launch.audit && launch.table
    ? new AuditSink({ echo: launch.auditEcho })
    : undefined;
}

/** The verdict off: the site chose so; the trace records it. */
export const AUDIT_OFF: AuditVerdict = {
  mode: "off",
  records: 0,
  byKind: {},
  outsideCount: 0,
  outside: [],
  skipped: 0,
  complete: true,
  note: "turned off at this site (agent --audit off)",
};

/**
 * The verdict for a wrapper process that ended: the sink checked against
 * the launch's table, {@link AUDIT_OFF} for a launch built without audit,
 * `undefined` for a launch that has no table (built by hand).
 */
export async function finalVerdict(
  launch: LaunchAudit,
  sink: AuditSink | undefined,
  complete: boolean,
): Promise<AuditVerdict | undefined> {
  if (!launch.table) return undefined;
  if (!sink) return AUDIT_OFF;
  return await sink.verdict(launch.table, { complete });
}

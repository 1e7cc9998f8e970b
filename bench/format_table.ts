/**
 * The result table as markdown, and the check that an entry's rows have
 * the {@link BenchRow} shape.
 *
 * @module
 */
import type { BenchRow } from "./bench_row.ts";

function num(v: number): string {
  if (Number.isNaN(v)) return "—";
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * Formats rows as one markdown table: measure, ours, baseline, ratio
 * (ours/baseline), goal, met?, note.
 */
export function formatTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| measure | ours | baseline | ratio | goal | met? | note |",
    "|---|---:|---:|---:|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      "| " + [
        cell(r.measure),
        `${num(r.ours)} ${r.unit}`,
        r.baseline === undefined ? "" : `${num(r.baseline)} ${r.unit}`,
        r.ratio === undefined ? "" : `${num(r.ratio)}×`,
        cell(r.goal ?? ""),
        r.met === undefined ? "" : r.met ? "yes" : "**no**",
        cell(r.note ?? ""),
      ].join(" | ") + " |",
    );
  }
  return lines.join("\n");
}

/** Thrown when an entry returns something that is not a list of rows. */
export class BadRowError extends Error {
  /** @param message names the entry and the first field that is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "BadRowError";
  }
}

/** Checks `value` is a `BenchRow[]`; throws {@link BadRowError} naming the fault. */
export function checkRows(value: unknown, entry: string): BenchRow[] {
  if (!Array.isArray(value)) {
    throw new BadRowError(
      `entry ${entry} returned ${typeof value}, expected an array of rows`,
    );
  }
  value.forEach((r, i) => {
    const where = `entry ${entry}, row ${i}`;
    if (typeof r !== "object" || r === null) {
      throw new BadRowError(`${where}: expected an object, got ${r}`);
    }
    const row = r as Record<string, unknown>;
    if (typeof row.measure !== "string" || row.measure === "") {
      throw new BadRowError(`${where}: "measure" must be a non-empty string`);
    }
    if (typeof row.ours !== "number") {
      throw new BadRowError(
        `${where} (${row.measure}): "ours" must be a number, got ${row.ours}`,
      );
    }
    if (typeof row.unit !== "string") {
      throw new BadRowError(
        `${where} (${row.measure}): "unit" must be a string`,
      );
    }
    for (const k of ["baseline", "ratio"]) {
      if (row[k] !== undefined && typeof row[k] !== "number") {
        throw new BadRowError(
          `${where} (${row.measure}): "${k}" must be a number when present`,
        );
      }
    }
    if (row.met !== undefined && typeof row.met !== "boolean") {
      throw new BadRowError(
        `${where} (${row.measure}): "met" must be a boolean when present`,
      );
    }
  });
  return value as BenchRow[];
}

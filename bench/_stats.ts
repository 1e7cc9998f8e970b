/**
 * Summary statistics for repeated measurements.
 *
 * @module
 */

/** Min, median and max of a non-empty sample. */
export interface Summary {
  /** Smallest value. */
  min: number;
  /** Median (mean of the middle two for an even count). */
  median: number;
  /** Largest value. */
  max: number;
  /** Number of values. */
  n: number;
}

/** Summarises `values`; throws on an empty or non-finite sample. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    throw new RangeError("cannot summarise an empty sample");
  }
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) {
    throw new RangeError(`sample holds a non-finite value: ${bad}`);
  }
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s[s.length - 1], n: s.length };
}

/** Rounds to `digits` significant digits (plain numbers stay readable). */
export function round(value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

/** `min a, median b, max c (n=N)` with a unit. */
export function describe(s: Summary, unit: string): string {
  return `min ${round(s.min)}, median ${round(s.median)}, max ${
    round(s.max)
  } ${unit} (n=${s.n})`;
}

/**
 * The shape every benchmark entry returns: one row of the result table.
 *
 * @module
 */

/** One line of the result table. */
export interface BenchRow {
  /** What was measured. */
  measure: string;
  /** Our number (median unless the note says otherwise). */
  ours: number;
  /** The baseline measured in the same run, if any. */
  baseline?: number;
  /** Unit of `ours` and `baseline`. */
  unit: string;
  /** `ours / baseline`. */
  ratio?: number;
  /** The target, as text. */
  goal?: string;
  /** Whether `ours` meets the goal. */
  met?: boolean;
  /** Remarks: min, spread, how it was measured. */
  note?: string;
}

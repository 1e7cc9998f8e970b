/**
 * Jobs per state over time, for the dashboard's chart: one sample per
 * call, the last `max` kept.
 *
 * @module
 */

/** One sample: time (ms since epoch) and count per state. */
export interface HistorySample {
  /** When. */
  t: number;
  /** Jobs per state. */
  counts: Record<string, number>;
}

/** A bounded series of samples. */
export class CountHistory {
  #samples: HistorySample[] = [];
  #max: number;

  /** Keeps the last `max` samples. */
  constructor(max = 720) {
    this.#max = max;
  }

  /** Adds a sample of the states of `jobs`. */
  add(
    jobs: readonly { state: string }[],
    t: number = Date.now(),
  ): HistorySample {
    const counts: Record<string, number> = {};
    for (const j of jobs) counts[j.state] = (counts[j.state] ?? 0) + 1;
    const s = { t, counts };
    this.#samples.push(s);
    if (this.#samples.length > this.#max) this.#samples.shift();
    return s;
  }

  /** Every sample kept, oldest first. */
  samples(): HistorySample[] {
    return [...this.#samples];
  }
}

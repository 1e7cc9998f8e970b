/**
 * The one seeded PRNG of the tests and benchmarks (mulberry32), so failing
 * property and fuzz runs replay from their seed and benchmark workloads are
 * the same from run to run.
 *
 * @module
 */

/** mulberry32: a small, fast, seeded PRNG. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** The seed: `JDL_SEED` if set, else one fixed value. */
export function seedFromEnv(fallback: number): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("JDL_SEED");
  } catch {
    raw = undefined;
  }
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) ? n : fallback;
}

/**
 * A token bucket: `rate` events per second sustained, `burst` at once.
 * The relay uses one per job to bound the calls a wrapper may make.
 *
 * @module
 */

/**
 * Allows `rate` events per second on average and up to `burst` at once.
 *
 * @example
 * ```ts
 * import { RateLimit } from "./rate_limit.ts";
 * const limit = new RateLimit(20, 2);
 * [limit.take(), limit.take(), limit.take()]; // [true, true, false]
 * ```
 */
export class RateLimit {
  #rate: number;
  #burst: number;
  #tokens: number;
  #refilled: number;

  /** A full bucket at `now` (ms; tests pass their own clock). */
  constructor(rate: number, burst: number, now: number = Date.now()) {
    this.#refilled = now;
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** Takes one event's token; false when the bucket is empty. */
  take(now: number = Date.now()): boolean {
    // A clock read before the bucket was made (or a step back) adds
    // nothing, and must not take tokens away either.
    const elapsed = Math.max(0, now - this.#refilled);
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + elapsed / 1000 * this.#rate,
    );
    this.#refilled = Math.max(this.#refilled, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

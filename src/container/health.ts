/**
 * Runtime health: the agent stops matching jobs once its runtime has
 * failed to start wrappers several times in a row, instead of turning the
 * queue into a stream of ERROR_A jobs.
 *
 * Only failures that say something about the runtime count (the launcher
 * could not start, the wrapper never said hello, the default image is
 * broken); a job naming an image this site does not have does not. Any
 * wrapper that starts resets the count.
 *
 * @module
 */

/** Options of {@link RuntimeHealth}. */
export interface RuntimeHealthOptions {
  /** Consecutive startup failures that make the runtime unhealthy. @default 3 */
  maxFailures?: number;
}

/** Counts consecutive startup failures of one runtime. */
export class RuntimeHealth {
  /** Failures in a row that make the runtime unhealthy. */
  readonly maxFailures: number;
  #failures = 0;
  #last?: string;

  /** Creates a healthy counter. */
  constructor(opts: RuntimeHealthOptions = {}) {
    const n = opts.maxFailures ?? 3;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`maxFailures ${n}: expected an integer >= 1`);
    }
    this.maxFailures = n;
  }

  /** A wrapper started (said hello): the runtime works. */
  started(): void {
    this.#failures = 0;
    this.#last = undefined;
  }

  /** A wrapper failed to start because of the runtime; `reason` is kept. */
  failed(reason: string): void {
    this.#failures++;
    this.#last = reason;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether the agent should stop matching. */
  get healthy(): boolean {
    return this.#failures < this.maxFailures;
  }

  /** Why it is unhealthy (or the last failure), for the agent's log. */
  get reason(): string | undefined {
    return this.#last === undefined
      ? undefined
      : `${this.#failures} wrapper start(s) failed in a row; last: ${this.#last}`;
  }
}

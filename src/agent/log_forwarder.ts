/**
 * Forwards a job's live output (the wrapper's `log` frames) to the broker,
 * off the payload's path: `push` only buffers; a timer sends what has
 * gathered every `intervalMs`, one request at a time. When the broker is
 * slow or refuses (429), lines are dropped, never queued without bound:
 * the full output still goes up with the job's files.
 *
 * @example
 * ```ts
 * import { LogForwarder } from "./log_forwarder.ts";
 * const f = new LogForwarder(async (lines, eof) => { console.log(lines.length, eof); });
 * f.push("stdout", ["hello"]);
 * await f.close(); // sends what is left, marked as the last batch
 * ```
 *
 * @module
 */

/** One forwarded line. */
export interface ForwardedLine {
  /** `stdout`, `stderr` or `wrapper`. */
  stream: string;
  /** Text without its newline. */
  text: string;
}

/** Options of {@link LogForwarder}. */
export interface LogForwarderOptions {
  /** Milliseconds between sends. @default 500 */
  intervalMs?: number;
  /** Lines buffered at most (older ones are dropped). @default 500 */
  maxBuffered?: number;
}

/** See the module doc. */
export class LogForwarder {
  #send: (lines: ForwardedLine[], eof: boolean) => Promise<unknown>;
  #interval: number;
  #max: number;
  #buffer: ForwardedLine[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #closed = false;
  /** Lines dropped because the buffer was full or a send failed. */
  dropped = 0;

  /**
   * Sends batches with `send` (which may throw: the batch is dropped);
   * `eof` marks the last one.
   */
  constructor(
    send: (lines: ForwardedLine[], eof: boolean) => Promise<unknown>,
    opts: LogForwarderOptions = {},
  ) {
    this.#send = send;
    this.#interval = opts.intervalMs ?? 500;
    this.#max = opts.maxBuffered ?? 500;
  }

  /** Buffers lines (never blocks, never throws). */
  push(stream: string, lines: readonly string[]): void {
    if (this.#closed) return;
    for (const text of lines) this.#buffer.push({ stream, text });
    if (this.#buffer.length > this.#max) {
      this.dropped += this.#buffer.length - this.#max;
      this.#buffer.splice(0, this.#buffer.length - this.#max);
    }
    this.#timer ??= setTimeout(() => this.#flush(), this.#interval);
  }

  #flush(eof = false): void {
    this.#timer = undefined;
    this.#inFlight = this.#inFlight.then(async () => {
      if (this.#buffer.length === 0 && !eof) return;
      const batch = this.#buffer;
      this.#buffer = [];
      try {
        await this.#send(batch, eof);
      } catch {
        this.dropped += batch.length;
      }
    });
  }

  /**
   * Stops without sending what is left, and returns it (the end mark
   * then goes with the caller's own request); waits at most `waitMs` for
   * a send in flight.
   */
  async drain(waitMs = 2000): Promise<ForwardedLine[]> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#inFlight,
      new Promise((r) => t = setTimeout(r, waitMs)),
    ]);
    clearTimeout(t);
    const rest = this.#buffer;
    this.#buffer = [];
    return rest;
  }

  /** Sends what is left and stops (waits at most `waitMs`). */
  async close(waitMs = 2000): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#flush(true);
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#inFlight,
      new Promise((r) => t = setTimeout(r, waitMs)),
    ]);
    clearTimeout(t);
  }
}

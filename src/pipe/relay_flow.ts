/**
 * Flow control of relayed bodies (docs/ARCHITECTURE.md, "The relay"): the
 * sending half ({@linkcode pumpBody} paced by a {@linkcode CreditGate}) and
 * the receiving half ({@linkcode BodyInlet}, a `ReadableStream` that grants
 * credit as its consumer reads). Neither knows about HTTP or processes, so
 * both sides of the pipe use them and unit tests drive them directly.
 *
 * @module
 */
import { BodyFlag, RELAY_CHUNK, RELAY_WINDOW } from "./relay_frames.ts";
import { ProtocolError } from "./protocol_error.ts";

/** The sender's credit for one body: bytes it may still send. */
export class CreditGate {
  #credit: number;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;

  /** Starts with `initial` bytes of credit (the receiver's window). */
  constructor(initial: number = RELAY_WINDOW) {
    this.#credit = initial;
  }

  /** The receiver consumed `bytes` more. */
  grant(bytes: number): void {
    this.#credit += bytes;
    this.#wake?.();
  }

  /** Stops the sender: every pending and later {@linkcode take} rejects. */
  fail(e: Error): void {
    this.#failure ??= e;
    this.#wake?.();
  }

  /** Waits for credit, then takes up to `max` bytes of it. */
  async take(max: number): Promise<number> {
    while (this.#credit <= 0 && this.#failure === undefined) {
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = undefined;
    }
    if (this.#failure) throw this.#failure;
    const n = Math.min(max, this.#credit);
    this.#credit -= n;
    return n;
  }
}

/** Sends one body frame (flag and bytes) for a pumped body. */
export type SendChunk = (flag: BodyFlag, data: Uint8Array) => Promise<void>;

/**
 * Sends `body` as chunks of at most {@linkcode RELAY_CHUNK}, each only
 * once `gate` has credit for it, then an `End` frame; resolves with the
 * byte count. On a read error, or past `maxBytes`, it sends `Abort` and
 * rejects; when `gate` fails (the receiver cancelled) it cancels `body`
 * and rejects.
 *
 * @example
 * ```ts ignore
 * const gate = new CreditGate();
 * await pumpBody(file.readable, gate, (flag, data) =>
 *   out.sendBytes(FrameType.RelayBody, encodeBody(id, flag, data)));
 * ```
 */
export async function pumpBody(
  body: ReadableStream<Uint8Array>,
  gate: CreditGate,
  send: SendChunk,
  maxBytes: number = Number.MAX_SAFE_INTEGER,
): Promise<number> {
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        const message = `body read failed: ${(e as Error).message}`;
        await send(BodyFlag.Abort, new TextEncoder().encode(message))
          .catch(() => {});
        throw new Error(message, { cause: e });
      }
      if (r.done) break;
      const chunk = r.value;
      total += chunk.length;
      if (total > maxBytes) {
        const message = `body exceeds the relay's ${maxBytes}-byte limit`;
        await send(BodyFlag.Abort, new TextEncoder().encode(message))
          .catch(() => {});
        throw new RangeError(message);
      }
      for (let off = 0; off < chunk.length;) {
        const n = await gate.take(Math.min(RELAY_CHUNK, chunk.length - off));
        await send(BodyFlag.Data, chunk.subarray(off, off + n));
        off += n;
      }
    }
    await send(BodyFlag.End, new Uint8Array(0));
    return total;
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/** Options of {@linkcode BodyInlet}. */
export interface BodyInletOptions {
  /** Called with bytes the consumer took: send that much credit back. */
  grant: (bytes: number) => void;
  /** Called when the consumer cancels the stream (send `RelayCancel`). */
  onCancel?: (reason: unknown) => void;
  /** Most bytes queued at once (the sender's initial credit). @default RELAY_WINDOW */
  window?: number;
  /** Most bytes in the whole body. @default unlimited */
  maxBytes?: number;
}

/**
 * The receiving end of one relayed body: {@linkcode push} the chunks of
 * its `RelayBody` frames, read them from {@linkcode stream}. Credit goes
 * back only as the consumer reads, and more than a window queued is the
 * sender's protocol error, so a body never holds more than a window here.
 */
export class BodyInlet {
  /** The body as a stream; reading it grants the sender credit. */
  readonly stream: ReadableStream<Uint8Array>;
  #opts: BodyInletOptions;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #total = 0;
  #done = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  /** A new inlet; `opts.grant` sends credit back. */
  constructor(opts: BodyInletOptions) {
    this.#opts = opts;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (c) => this.#pull(c),
      cancel: (reason) => {
        this.#done = true;
        this.#queue = [];
        opts.onCancel?.(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** Bytes received and not yet read by the consumer. */
  get queued(): number {
    return this.#queued;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#total;
  }

  /** Whether the body ended, failed or was cancelled. */
  get finished(): boolean {
    return this.#done || this.#failure !== undefined;
  }

  /**
   * Takes one chunk. A small view into a much larger read buffer is
   * copied, so a few queued bytes never keep a whole buffer alive; a
   * chunk that is most of its buffer (a full-size body frame) is kept.
   *
   * @throws {ProtocolError} when the sender overran its credit or `maxBytes`.
   */
  push(data: Uint8Array): void {
    if (this.finished) return;
    this.#queued += data.length;
    this.#total += data.length;
    const window = this.#opts.window ?? RELAY_WINDOW;
    if (this.#queued > window) {
      const e = new ProtocolError(
        `relayed body overran its credit: ${this.#queued} bytes queued, window ${window}`,
      );
      this.fail(e);
      throw e;
    }
    if (this.#total > (this.#opts.maxBytes ?? Number.MAX_SAFE_INTEGER)) {
      const e = new RangeError(
        `relayed body exceeds the ${this.#opts.maxBytes}-byte limit`,
      );
      this.fail(e);
      throw e;
    }
    if (data.length > 0) {
      this.#queue.push(
        data.length * 2 < data.buffer.byteLength ? data.slice() : data,
      );
    }
    this.#wake?.();
  }

  /** The body is complete. */
  end(): void {
    this.#done = true;
    this.#wake?.();
  }

  /** The body failed: the consumer's next read rejects with `e`. */
  fail(e: Error): void {
    this.#failure ??= e;
    this.#queue = [];
    this.#wake?.();
  }

  async #pull(c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (
      this.#queue.length === 0 && !this.#done && this.#failure === undefined
    ) {
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = undefined;
    }
    if (this.#failure) {
      c.error(this.#failure);
      return;
    }
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queued -= chunk.length;
      c.enqueue(chunk);
      this.#opts.grant(chunk.length);
      return;
    }
    c.close();
  }
}

/**
 * Sending frames on a byte stream from many callers at once.
 *
 * @module
 */
import { type FrameType, MAX_FRAME_SIZE } from "./frame_type.ts";
import {
  checkMaxFrameSize,
  checkOutgoing,
  coalesce,
  frameHeader,
  frameTypeName,
  jsonBytes,
} from "./_util.ts";

/**
 * A frame could not be sent because the pipe is closed: either
 * {@linkcode FrameWriter.close} was called or the other side went away
 * (`cause` then holds the underlying error, e.g. `BrokenPipe`).
 */
export class PipeClosedError extends Error {
  /**
   * @param message says which frame could not be sent.
   * @param options `cause` keeps the write error of the closed stream.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PipeClosedError";
  }
}

/** Options for {@linkcode FrameWriter}. */
export interface FrameWriterOptions {
  /**
   * Largest payload accepted, in bytes; a larger send rejects with a
   * `RangeError` and nothing is written.
   *
   * @default {MAX_FRAME_SIZE}
   */
  maxFrameSize?: number;
}

interface Queued {
  type: FrameType;
  header: Uint8Array;
  payload: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Writes frames to a byte stream (e.g. a child's stdin or `Deno.stdout`).
 *
 * Concurrent sends never interleave and go out in call order. While one
 * write is in progress, later frames queue up and then go out together,
 * small ones joined into one buffer, so a burst of small frames costs few
 * writes and an idle writer adds no delay. A large payload is written after
 * a separate 5-byte header rather than copied, so do not modify it until
 * its send resolves.
 *
 * Once the other side is gone, every pending and later send rejects with a
 * {@linkcode PipeClosedError}; no rejection is left unhandled inside.
 *
 * @example Sending a status frame
 * ```ts ignore
 * import { FrameWriter } from "./frame_writer.ts";
 * import { FrameType } from "./frame_type.ts";
 *
 * const out = new FrameWriter(Deno.stdout.writable);
 * await out.send(FrameType.Status, { state: "RUNNING" });
 * await out.close();
 * ```
 */
export class FrameWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #max: number;
  #queue: Queued[] = [];
  #pumping: Promise<void> | undefined;
  #closed = false;
  #closedByUs = false;
  #failure: unknown = undefined;
  #closing: Promise<void> | undefined;

  /**
   * Takes the stream's lock for the writer's lifetime.
   *
   * @throws {RangeError} on a bad `maxFrameSize`.
   * @throws {TypeError} if the stream is already locked.
   */
  constructor(
    writable: WritableStream<Uint8Array>,
    opts: FrameWriterOptions = {},
  ) {
    this.#max = checkMaxFrameSize(opts.maxFrameSize ?? MAX_FRAME_SIZE);
    this.#writer = writable.getWriter();
    this.#writer.closed.then(
      () => void (this.#closed = true),
      (e) => this.#markFailed(e),
    );
  }

  /** Whether sending is over: after `close()` or once the stream failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `value` as a JSON control frame; resolves once it is written.
   *
   * @throws {TypeError} if `value` has no JSON form.
   * @throws {RangeError} on an unknown type or an oversize payload.
   * @throws {PipeClosedError} if the pipe is closed.
   */
  send(type: FrameType, value: unknown): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = jsonBytes(type, value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.sendBytes(type, payload);
  }

  /**
   * Sends raw bytes as one frame; resolves once it is written.
   *
   * @throws {RangeError} on an unknown type or an oversize payload.
   * @throws {PipeClosedError} if the pipe is closed.
   */
  sendBytes(type: FrameType, bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError(type));
    try {
      checkOutgoing(type, bytes.length, this.#max);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const header = frameHeader(type, bytes.length);
      this.#queue.push({ type, header, payload: bytes, resolve, reject });
      this.#pumping ??= this.#pump();
    });
  }

  /**
   * Writes queued frames and closes the stream. Idempotent; does not
   * reject when the other side is already gone (pending sends report that).
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#closedByUs = !wasClosed;
    this.#closing = (async () => {
      await this.#pumping;
      if (this.#failure === undefined) {
        await this.#writer.close().catch((e) => this.#markFailed(e));
      }
    })();
    return this.#closing;
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      const parts: Uint8Array[] = [];
      for (const q of batch) parts.push(q.header, q.payload);
      try {
        // Queue every write at once; if one fails the stream fails, so the
        // last one rejects too and is the one to wait for.
        const writes = coalesce(parts).map((c) => this.#writer.write(c));
        for (const w of writes) w.catch(() => {});
        await writes[writes.length - 1];
      } catch (e) {
        this.#markFailed(e);
        for (const q of [...batch, ...this.#queue]) {
          q.reject(this.#closedError(q.type));
        }
        this.#queue = [];
        break;
      }
      for (const q of batch) q.resolve();
    }
    this.#pumping = undefined;
  }

  #markFailed(e: unknown): void {
    this.#closed = true;
    this.#failure ??= e;
  }

  #closedError(type: FrameType): PipeClosedError {
    const what = `cannot send ${frameTypeName(type)} frame: the pipe is closed`;
    if (this.#failure !== undefined) {
      const why = this.#failure instanceof Error
        ? this.#failure.message
        : String(this.#failure);
      return new PipeClosedError(
        `${what} (the other side went away: ${why})`,
        { cause: this.#failure },
      );
    }
    return new PipeClosedError(
      this.#closedByUs ? `${what} (close() was called)` : what,
    );
  }
}

// The incremental frame parser behind FrameDecoderStream and readFrames.
import type { Frame, FrameType } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";
import {
  frameTypeName,
  HEADER_SIZE,
  hex,
  isFrameType,
  looksLikeText,
  preview,
} from "./_util.ts";

/**
 * Turns byte chunks into frames. A frame that lies inside one chunk is
 * emitted as a view into that chunk; only a frame straddling chunks is
 * copied, once, into a buffer of its exact size.
 */
export class FrameParser {
  #max: number;
  /** Stream offset of the first byte of the next chunk. */
  #offset = 0;
  #header = new Uint8Array(HEADER_SIZE);
  #headerFill = 0;
  /** Stream offset where the partial frame (header or payload) began. */
  #frameStart = 0;
  #type: FrameType = 1;
  #payload: Uint8Array | null = null;
  #payloadSize = 0;
  #payloadFill = 0;

  constructor(maxFrameSize: number) {
    this.#max = maxFrameSize;
  }

  /**
   * The unfilled rest of a payload that straddles chunks, or `null`. A
   * reader may read straight into it (e.g. a BYOB read) and report what it
   * got with {@linkcode FrameParser.filled}, which saves copying the payload.
   */
  get remainder(): Uint8Array | null {
    return this.#payload === null
      ? null
      : this.#payload.subarray(this.#payloadFill);
  }

  /**
   * Records bytes read into {@linkcode FrameParser.remainder}; `view` is what
   * the read returned. Its buffer may be a transferred copy of the payload's
   * (as BYOB reads do), so the payload is re-taken from it.
   */
  filled(view: Uint8Array, emit: (frame: Frame) => void): void {
    const payload = new Uint8Array(view.buffer, 0, this.#payloadSize);
    this.#payloadFill += view.length;
    this.#offset += view.length;
    if (this.#payloadFill === this.#payloadSize) {
      this.#payload = null;
      emit({ type: this.#type, payload });
    } else {
      this.#payload = payload;
    }
  }

  /**
   * Feeds one chunk, calling `emit` for every frame it completes. The chunk
   * must not be modified afterwards: emitted payloads may be views into it.
   *
   * @throws {ProtocolError} on an unknown type byte or a bad length.
   */
  push(chunk: Uint8Array, emit: (frame: Frame) => void): void {
    const n = chunk.length;
    const base = this.#offset;
    let i = 0;
    while (i < n) {
      if (this.#payload !== null) {
        const payload = this.#payload;
        const take = Math.min(this.#payloadSize - this.#payloadFill, n - i);
        payload.set(chunk.subarray(i, i + take), this.#payloadFill);
        this.#payloadFill += take;
        i += take;
        if (this.#payloadFill === this.#payloadSize) {
          this.#payload = null;
          emit({ type: this.#type, payload });
        }
        continue;
      }
      let length: number;
      let type: number;
      let start: number;
      if (this.#headerFill === 0 && n - i >= HEADER_SIZE) {
        // Fast path: the whole header is in this chunk.
        length = chunk[i] * 0x100_0000 +
          ((chunk[i + 1] << 16) | (chunk[i + 2] << 8) | chunk[i + 3]);
        type = chunk[i + 4];
        start = base + i;
        if (!isFrameType(type) || length === 0 || length - 1 > this.#max) {
          this.#reject(length, type, start, chunk.subarray(i, i + 64));
        }
        i += HEADER_SIZE;
      } else {
        if (this.#headerFill === 0) this.#frameStart = base + i;
        const take = Math.min(HEADER_SIZE - this.#headerFill, n - i);
        this.#header.set(chunk.subarray(i, i + take), this.#headerFill);
        this.#headerFill += take;
        i += take;
        if (this.#headerFill < HEADER_SIZE) break;
        this.#headerFill = 0;
        const h = this.#header;
        length = h[0] * 0x100_0000 + ((h[1] << 16) | (h[2] << 8) | h[3]);
        type = h[4];
        start = this.#frameStart;
        if (!isFrameType(type) || length === 0 || length - 1 > this.#max) {
          const seen = new Uint8Array(HEADER_SIZE + Math.min(59, n - i));
          seen.set(h);
          seen.set(chunk.subarray(i, i + 59), HEADER_SIZE);
          this.#reject(length, type, start, seen);
        }
      }
      const size = length - 1;
      if (n - i >= size) {
        emit({ type: type as FrameType, payload: chunk.subarray(i, i + size) });
        i += size;
      } else {
        const payload = new Uint8Array(size);
        payload.set(chunk.subarray(i));
        this.#payload = payload;
        this.#payloadSize = size;
        this.#payloadFill = n - i;
        this.#type = type as FrameType;
        this.#frameStart = start;
        i = n;
      }
    }
    this.#offset = base + n;
  }

  /**
   * Checks that the stream did not end inside a frame.
   *
   * @throws {ProtocolError} if it did.
   */
  finish(): void {
    if (this.#headerFill > 0) {
      throw new ProtocolError(
        `stream ended inside a frame header: ${this.#headerFill} of ${HEADER_SIZE} bytes at byte offset ${this.#frameStart}`,
      );
    }
    if (this.#payload !== null) {
      const total = HEADER_SIZE + this.#payloadSize;
      throw new ProtocolError(
        `stream ended inside a frame: ${
          HEADER_SIZE + this.#payloadFill
        } of ${total} bytes (${
          frameTypeName(this.#type)
        } frame at byte offset ${this.#frameStart})`,
      );
    }
  }

  #reject(length: number, type: number, at: number, seen: Uint8Array): never {
    // Text where a header should be almost always means a stray print.
    const hint =
      ` (is something else writing to the pipe, e.g. a stray print to stdout? first bytes: ${
        preview(seen)
      })`;
    if (!isFrameType(type)) {
      throw new ProtocolError(
        `unknown frame type 0x${hex(type)} at byte offset ${at}${hint}`,
      );
    }
    const text = looksLikeText(seen.subarray(0, HEADER_SIZE)) ? hint : "";
    if (length === 0) {
      throw new ProtocolError(
        `frame length 0 at byte offset ${at}, expected at least 1 (the length counts the type byte)${text}`,
      );
    }
    throw new ProtocolError(
      `frame of ${length - 1} bytes exceeds the ${this.#max}-byte limit (${
        frameTypeName(type)
      } frame at byte offset ${at})${text}`,
    );
  }
}

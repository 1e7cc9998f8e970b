/**
 * Decoding a byte stream into frames.
 *
 * @module
 */
import { type Frame, MAX_FRAME_SIZE } from "./frame_type.ts";
import { FrameParser } from "./_frame_parser.ts";
import { checkMaxFrameSize } from "./_util.ts";

/** Options for {@linkcode FrameDecoderStream} and `readFrames`. */
export interface FrameDecoderOptions {
  /**
   * Largest payload accepted, in bytes; a longer frame errors the stream.
   *
   * @default {MAX_FRAME_SIZE}
   */
  maxFrameSize?: number;
}

/**
 * Splits a byte stream into {@linkcode Frame}s, whatever the chunking: a
 * frame may be split over many chunks and a chunk may hold many frames.
 *
 * A frame lying inside one chunk comes out as a view into that chunk (no
 * copy), so producers must not reuse a chunk's buffer after writing it.
 * A frame straddling chunks is copied once.
 *
 * The stream errors with a `ProtocolError` on an unknown type byte, a length
 * of 0 or over `maxFrameSize`, or input that ends inside a frame. Erroring a
 * stream drops what it still holds, so good frames that came in the same
 * chunk as the bad bytes may be lost; `readFrames` hands those out first.
 *
 * @example Reading frames from a child's stdout
 * ```ts ignore
 * import { FrameDecoderStream } from "./frame_decoder_stream.ts";
 *
 * const child = new Deno.Command("wrapper", { stdout: "piped" }).spawn();
 * for await (const frame of child.stdout.pipeThrough(new FrameDecoderStream())) {
 *   console.log(frame.type, frame.payload.length);
 * }
 * ```
 */
export class FrameDecoderStream extends TransformStream<Uint8Array, Frame> {
  /** Creates a decoder; throws `RangeError` on a bad `maxFrameSize`. */
  constructor(opts: FrameDecoderOptions = {}) {
    const parser = new FrameParser(
      checkMaxFrameSize(opts.maxFrameSize ?? MAX_FRAME_SIZE),
    );
    super({
      transform(chunk, controller) {
        parser.push(chunk, (frame) => controller.enqueue(frame));
      },
      flush() {
        parser.finish();
      },
    });
  }
}

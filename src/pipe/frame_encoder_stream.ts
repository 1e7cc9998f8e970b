/**
 * Encoding frames into a byte stream.
 *
 * @module
 */
import { type Frame, MAX_FRAME_SIZE } from "./frame_type.ts";
import { checkMaxFrameSize, frameParts } from "./_util.ts";

/** Options for {@linkcode FrameEncoderStream}. */
export interface FrameEncoderOptions {
  /**
   * Largest payload accepted, in bytes; a longer frame errors the stream
   * with a `RangeError` rather than sending what the peer would reject.
   *
   * @default {MAX_FRAME_SIZE}
   */
  maxFrameSize?: number;
}

/**
 * Turns {@linkcode Frame}s into bytes. Small frames come out as one chunk;
 * a large payload comes out as a 5-byte header chunk followed by the
 * payload itself, uncopied, so it must not be modified after being written.
 *
 * @example Echoing frames
 * ```ts ignore
 * import { FrameDecoderStream } from "./frame_decoder_stream.ts";
 * import { FrameEncoderStream } from "./frame_encoder_stream.ts";
 *
 * await Deno.stdin.readable
 *   .pipeThrough(new FrameDecoderStream())
 *   .pipeThrough(new FrameEncoderStream())
 *   .pipeTo(Deno.stdout.writable);
 * ```
 */
export class FrameEncoderStream extends TransformStream<Frame, Uint8Array> {
  /** Creates an encoder; throws `RangeError` on a bad `maxFrameSize`. */
  constructor(opts: FrameEncoderOptions = {}) {
    const max = checkMaxFrameSize(opts.maxFrameSize ?? MAX_FRAME_SIZE);
    super({
      transform(frame, controller) {
        for (const part of frameParts(frame.type, frame.payload, max)) {
          controller.enqueue(part);
        }
      },
    });
  }
}

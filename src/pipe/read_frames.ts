/**
 * Iterating over the frames of a byte stream.
 *
 * @module
 */
import { type Frame, MAX_FRAME_SIZE } from "./frame_type.ts";
import type { FrameDecoderOptions } from "./frame_decoder_stream.ts";
import { FrameParser } from "./_frame_parser.ts";
import { checkMaxFrameSize } from "./_util.ts";

/** Bytes asked for per read between large payloads. */
const CHUNK_SIZE = 64 * 1024;

/**
 * Iterates over the frames of `readable` (e.g. a child's stdout). The
 * iterator throws a `ProtocolError` on bad input, as `FrameDecoderStream`
 * does; leaving the loop early cancels `readable`.
 *
 * Frames that arrived before bad bytes are handed out before the error.
 * On a byte stream (such as `Deno.Command` and `Deno.stdin` pipes) the rest
 * of a large payload is read straight into the frame's own buffer, so it is
 * never copied; small frames are views into the chunk they arrived in.
 *
 * @throws {RangeError} on a bad `maxFrameSize`.
 *
 * @example
 * ```ts ignore
 * import { readFrames } from "./read_frames.ts";
 *
 * for await (const frame of readFrames(Deno.stdin.readable)) {
 *   console.log(frame.type);
 * }
 * ```
 */
export function readFrames(
  readable: ReadableStream<Uint8Array>,
  opts: FrameDecoderOptions = {},
): AsyncIterableIterator<Frame> {
  const parser = new FrameParser(
    checkMaxFrameSize(opts.maxFrameSize ?? MAX_FRAME_SIZE),
  );
  // Lock the stream now, as pipeThrough() would, not at the first read.
  let reader:
    | ReadableStreamBYOBReader
    | ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = readable.getReader({ mode: "byob" });
  } catch (e) {
    if (readable.locked) throw e;
    reader = readable.getReader(); // not a byte stream: take its chunks
  }
  return frames(reader, parser);
}

async function* frames(
  reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>,
  parser: FrameParser,
): AsyncGenerator<Frame> {
  const byob = reader instanceof ReadableStreamBYOBReader ? reader : undefined;
  const ready: Frame[] = [];
  const emit = (frame: Frame) => void ready.push(frame);
  let done = false;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      let failure: unknown;
      const rest = byob && parser.remainder;
      if (rest && rest.length >= CHUNK_SIZE) {
        result = await byob!.read(rest);
        if (!result.done) parser.filled(result.value, emit);
      } else {
        result = byob
          ? await byob.read(new Uint8Array(CHUNK_SIZE))
          : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        if (!result.done) {
          try {
            parser.push(result.value, emit);
          } catch (e) {
            failure = e; // after handing out the good frames before it
          }
        }
      }
      for (let k = 0; k < ready.length; k++) yield ready[k];
      ready.length = 0;
      if (failure !== undefined) throw failure;
      if (result.done) {
        done = true;
        parser.finish();
        return;
      }
    }
  } finally {
    // Leaving early (break, or a ProtocolError) means we want no more.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

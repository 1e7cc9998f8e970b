import { assert, assertEquals, assertRejects } from "@std/assert";
import { encodeFrame } from "./encode_frame.ts";
import { FrameDecoderStream } from "./frame_decoder_stream.ts";
import { FrameEncoderStream } from "./frame_encoder_stream.ts";
import { type Frame, FrameType } from "./frame_type.ts";
import {
  ALL_TYPES,
  assertFramesEqual,
  collect,
  concat,
  patterned,
} from "./_testing.ts";

async function encodeChunks(
  frames: Frame[],
  opts?: { maxFrameSize?: number },
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (
    const c of ReadableStream.from(frames).pipeThrough(
      new FrameEncoderStream(opts),
    )
  ) chunks.push(c);
  return chunks;
}

Deno.test("FrameEncoderStream writes what encodeFrame() does, for every type", async () => {
  const frames = ALL_TYPES.map((type, k) => ({
    type,
    payload: patterned(k * 5, k),
  }));
  const bytes = concat(await encodeChunks(frames));
  assertEquals(
    bytes,
    concat(frames.map((f) => encodeFrame(f.type, f.payload))),
  );
});

Deno.test("FrameEncoderStream round-trips through FrameDecoderStream", async () => {
  const frames: Frame[] = [
    {
      type: FrameType.Hello,
      payload: new TextEncoder().encode('{"version":1}'),
    },
    { type: FrameType.Log, payload: patterned(300_000, 1) },
    { type: FrameType.Status, payload: new Uint8Array() },
    { type: FrameType.Log, payload: patterned(70_000, 2) },
  ];
  const decoded = await collect(
    ReadableStream.from(frames)
      .pipeThrough(new FrameEncoderStream())
      .pipeThrough(new FrameDecoderStream()),
  );
  assertFramesEqual(decoded, frames);
});

Deno.test("FrameEncoderStream passes a large payload through uncopied", async () => {
  const big = patterned(1 << 20, 3);
  const small = patterned(10, 4);
  const chunks = await encodeChunks([
    { type: FrameType.Log, payload: big },
    { type: FrameType.Log, payload: small },
  ]);
  assertEquals(chunks.length, 3, "header, big payload, small frame");
  assertEquals(Array.from(chunks[0]), [0, 0x10, 0, 1, FrameType.Log]);
  assert(chunks[1] === big, "the payload itself, not a copy");
  assertEquals(chunks[2], encodeFrame(FrameType.Log, small));
});

Deno.test("FrameEncoderStream errors on an oversize frame", async () => {
  await assertRejects(
    () =>
      encodeChunks([{ type: FrameType.Log, payload: new Uint8Array(9) }], {
        maxFrameSize: 8,
      }),
    RangeError,
    "Log frame of 9 bytes exceeds the 8-byte limit",
  );
});

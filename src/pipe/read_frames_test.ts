import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { encodeFrame } from "./encode_frame.ts";
import { type Frame, FrameType } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";
import { readFrames } from "./read_frames.ts";
import {
  ALL_TYPES,
  assertFramesEqual,
  byteStream,
  chunkStream,
  concat,
  patterned,
  randomChunks,
  randomInt,
  seededRandom,
} from "./_testing.ts";

async function readAll(
  stream: ReadableStream<Uint8Array>,
  opts?: { maxFrameSize?: number },
): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of readFrames(stream, opts)) frames.push(f);
  return frames;
}

function encodeAll(frames: Frame[]): Uint8Array {
  return concat(frames.map((f) => encodeFrame(f.type, f.payload)));
}

const sources = [
  ["a plain stream", chunkStream],
  ["a byte stream", byteStream],
] as const;

for (const [name, make] of sources) {
  Deno.test(`readFrames() property: random frames and chunkings, from ${name}`, async () => {
    const rng = seededRandom(name.length);
    for (let round = 0; round < 150; round++) {
      const frames: Frame[] = [];
      for (let k = randomInt(rng, 0, 12); k > 0; k--) {
        const size = rng() < 0.25
          ? randomInt(rng, 65_536, 400_000)
          : randomInt(rng, 0, 200);
        frames.push({
          type: ALL_TYPES[randomInt(rng, 0, ALL_TYPES.length - 1)],
          payload: patterned(size, round + k),
        });
      }
      const bytes = encodeAll(frames);
      assertFramesEqual(await readAll(make(randomChunks(bytes, rng))), frames);
    }
  });

  Deno.test(`readFrames() throws ProtocolError on bad input from ${name}`, async () => {
    const good = encodeFrame(FrameType.Log, patterned(100_000, 1));
    await assertRejects(
      () => readAll(make([good.subarray(0, 70_000)])),
      ProtocolError,
      "stream ended inside a frame: 70000 of 100005 bytes",
    );
    await assertRejects(
      () => readAll(make([good, new TextEncoder().encode("Hello world\n")])),
      ProtocolError,
      "unknown frame type 0x6f at byte offset 100005",
    );
    await assertRejects(
      () => readAll(make([good]), { maxFrameSize: 99_999 }),
      ProtocolError,
      "frame of 100000 bytes exceeds the 99999-byte limit",
    );
  });
}

Deno.test("readFrames() reads a large payload from a byte stream into its own buffer", async () => {
  const payload = patterned(3 << 20, 9);
  const bytes = encodeFrame(FrameType.Log, payload);
  // 64 KiB pieces, as a pipe delivers them; record the reads asked for.
  const asked: number[] = [];
  let at = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      const view = controller.byobRequest?.view;
      asked.push(view?.byteLength ?? -1);
      if (at >= bytes.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      controller.enqueue(bytes.slice(at, at + 65_536));
      at += 65_536;
    },
  });
  const frames = await readAll(stream);
  assertFramesEqual(frames, [{ type: FrameType.Log, payload }]);
  // After the first chunk, reads go straight into the payload's rest.
  assertEquals(asked[1], payload.length - (65_536 - 5));
  assertEquals(frames[0].payload.byteOffset, 0);
  assertEquals(frames[0].payload.buffer.byteLength, payload.length);
});

for (const [name, make] of sources) {
  Deno.test(`readFrames() hands out good frames before bad bytes, from ${name}`, async () => {
    const good = encodeFrame(FrameType.Status, new TextEncoder().encode("{}"));
    const bad = new TextEncoder().encode("Hello world\n");
    const it = readFrames(make([concat([good, good, bad])]));
    assertEquals((await it.next()).value?.type, FrameType.Status);
    assertEquals((await it.next()).value?.type, FrameType.Status);
    await assertRejects(
      () => it.next(),
      ProtocolError,
      "unknown frame type 0x6f at byte offset 14",
    );
  });
}

Deno.test("readFrames() locks the stream at once and refuses a locked one", () => {
  const stream = chunkStream([]);
  readFrames(stream);
  assert(stream.locked);
  assertThrows(() => readFrames(stream), TypeError);
});

Deno.test("readFrames() cancels the source when the loop ends early", async () => {
  let cancelled = false;
  const bytes = encodeAll([
    { type: FrameType.Hello, payload: new Uint8Array(3) },
    { type: FrameType.Status, payload: new Uint8Array(3) },
  ]);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const frame of readFrames(stream)) {
    assertEquals(frame.type, FrameType.Hello);
    break;
  }
  assert(cancelled);
  assertEquals(stream.locked, false);
});

Deno.test("readFrames() refuses a bad limit", () => {
  assertThrows(
    () => readFrames(chunkStream([]), { maxFrameSize: -5 }),
    RangeError,
  );
});

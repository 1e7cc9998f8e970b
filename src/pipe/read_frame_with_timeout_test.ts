import { assertEquals, assertLess, assertRejects } from "@std/assert";
import { encodeFrame } from "./encode_frame.ts";
import { type Frame, FrameType } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";
import { readFrames } from "./read_frames.ts";
import { readFrameWithTimeout } from "./read_frame_with_timeout.ts";

/** A stream the test feeds by hand. */
function manual() {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
  });
  return { frames: readFrames(stream), ctl };
}

Deno.test("readFrameWithTimeout() times out with a clear ProtocolError", async () => {
  const { frames, ctl } = manual();
  const start = performance.now();
  await assertRejects(
    () => readFrameWithTimeout(frames, 50, "hello"),
    ProtocolError,
    "no hello frame within 50 ms",
  );
  // Far above 50 ms (a loaded CI box may be slow to run the timer) and
  // below the 10 s the callers use, so a timeout that ignored `ms` fails.
  const took = performance.now() - start;
  assertLess(took, 5000);
  ctl.close();
  assertEquals(await readFrameWithTimeout(frames, 1000, "hello"), undefined);
});

Deno.test("readFrameWithTimeout() keeps the frame of a read that timed out", async () => {
  const { frames, ctl } = manual();
  await assertRejects(
    () => readFrameWithTimeout(frames, 10, "hello"),
    ProtocolError,
  );
  ctl.enqueue(encodeFrame(FrameType.Hello, new Uint8Array([1])));
  ctl.enqueue(encodeFrame(FrameType.Status, new Uint8Array([2])));
  const first = await readFrameWithTimeout(frames, 1000, "hello");
  const second = await readFrameWithTimeout(frames, 1000, "status");
  assertEquals(first?.type, FrameType.Hello);
  assertEquals(second?.type, FrameType.Status);
  ctl.close();
});

Deno.test("readFrameWithTimeout() returns frames, then undefined at the end", async () => {
  async function* two(): AsyncGenerator<Frame> {
    yield { type: FrameType.Hello, payload: new Uint8Array() };
    yield { type: FrameType.End, payload: new Uint8Array() };
  }
  const it = two();
  // A long timeout: the test would leak its timer if it were not cleared.
  assertEquals(
    (await readFrameWithTimeout(it, 60_000, "hello"))?.type,
    FrameType.Hello,
  );
  assertEquals(
    (await readFrameWithTimeout(it, 60_000, "end"))?.type,
    FrameType.End,
  );
  assertEquals(await readFrameWithTimeout(it, 60_000, "end"), undefined);
});

Deno.test("readFrameWithTimeout() passes on the stream's ProtocolError", async () => {
  const { frames, ctl } = manual();
  ctl.enqueue(new TextEncoder().encode("Hello world\n"));
  await assertRejects(
    () => readFrameWithTimeout(frames, 1000, "hello"),
    ProtocolError,
    "unknown frame type 0x6f",
  );
});

Deno.test("readFrameWithTimeout() refuses a bad timeout", async () => {
  const { frames, ctl } = manual();
  await assertRejects(
    () => readFrameWithTimeout(frames, -1, "hello"),
    RangeError,
  );
  await assertRejects(
    () => readFrameWithTimeout(frames, NaN, "hello"),
    RangeError,
  );
  ctl.close();
});

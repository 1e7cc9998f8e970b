import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { decodeJson } from "./decode_json.ts";
import { FrameDecoderStream } from "./frame_decoder_stream.ts";
import { type Frame, FrameType } from "./frame_type.ts";
import { FrameWriter, PipeClosedError } from "./frame_writer.ts";
import {
  assertFramesEqual,
  collect,
  concat,
  patterned,
  randomInt,
  seededRandom,
} from "./_testing.ts";

/** A sink that records every chunk, optionally slowly or failing. */
function sink(opts: { delayMs?: number; failAfter?: number } = {}) {
  const chunks: Uint8Array[] = [];
  let closed = false;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (opts.failAfter !== undefined && chunks.length >= opts.failAfter) {
        throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      }
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      chunks.push(chunk);
    },
    close() {
      closed = true;
    },
  });
  return {
    writable,
    chunks,
    isClosed: () => closed,
    frames: () =>
      collect(
        ReadableStream.from([concat(chunks)]).pipeThrough(
          new FrameDecoderStream(),
        ),
      ),
  };
}

Deno.test("FrameWriter delivers 100 concurrent sends intact, in call order", async () => {
  const s = sink({ delayMs: 1 });
  const out = new FrameWriter(s.writable);
  const rng = seededRandom(100);
  const expected: Frame[] = [];
  const sends: Promise<void>[] = [];
  for (let k = 0; k < 100; k++) {
    const size = rng() < 0.2
      ? randomInt(rng, 65_537, 300_000)
      : randomInt(rng, 0, 500);
    const payload = patterned(size, k);
    expected.push({ type: FrameType.Log, payload });
    sends.push(out.sendBytes(FrameType.Log, payload));
  }
  await Promise.all(sends);
  await out.close();
  assert(s.isClosed());
  assertFramesEqual(await s.frames(), expected);
});

Deno.test("FrameWriter keeps each caller's frames in order under interleaving", async () => {
  const s = sink();
  const out = new FrameWriter(s.writable);
  const rng = seededRandom(7);
  const caller = async (id: number) => {
    for (let seq = 0; seq < 10; seq++) {
      // Yield a random number of times so callers interleave.
      for (let y = randomInt(rng, 0, 3); y > 0; y--) await Promise.resolve();
      if (rng() < 0.3) await new Promise((r) => setTimeout(r, 0));
      await out.send(FrameType.Log, {
        stream: "wrapper",
        lines: [`${id}:${seq}`],
      });
    }
  };
  await Promise.all(Array.from({ length: 10 }, (_, id) => caller(id)));
  await out.close();
  const frames = await s.frames();
  assertEquals(frames.length, 100);
  const next = new Array(10).fill(0);
  for (const f of frames) {
    const [id, seq] = decodeJson<{ lines: string[] }>(f).lines[0].split(":")
      .map(Number);
    assertEquals(seq, next[id], `caller ${id} out of order`);
    next[id]++;
  }
  assertEquals(next, new Array(10).fill(10));
});

Deno.test("FrameWriter batches small frames queued behind a write", async () => {
  const s = sink({ delayMs: 5 });
  const out = new FrameWriter(s.writable);
  const sends = [];
  for (let k = 0; k < 50; k++) {
    sends.push(out.send(FrameType.Status, { state: `S${k}` }));
  }
  await Promise.all(sends);
  assertLessOrEqual(
    s.chunks.length,
    3,
    `50 frames took ${s.chunks.length} writes`,
  );
  const states = (await s.frames()).map((f) =>
    decodeJson<{ state: string }>(f).state
  );
  assertEquals(states, Array.from({ length: 50 }, (_, k) => `S${k}`));
  await out.close();
});

Deno.test("FrameWriter writes a large payload after its header, uncopied", async () => {
  const s = sink();
  const out = new FrameWriter(s.writable);
  const big = patterned(1 << 20, 1);
  await out.sendBytes(FrameType.Log, big);
  assertEquals(s.chunks.length, 2);
  assertEquals(Array.from(s.chunks[0]), [0, 0x10, 0, 1, FrameType.Log]);
  assert(s.chunks[1] === big);
  await out.close();
});

Deno.test("FrameWriter.close() flushes queued frames and rejects later sends", async () => {
  const s = sink({ delayMs: 2 });
  const out = new FrameWriter(s.writable);
  const sends = [1, 2, 3].map((n) => out.send(FrameType.Status, { n }));
  assertEquals(out.closed, false);
  const closing = out.close();
  assertEquals(out.closed, true);
  await Promise.all(sends);
  await closing;
  await out.close(); // idempotent
  assert(s.isClosed());
  assertEquals((await s.frames()).length, 3);
  await assertRejects(
    () => out.send(FrameType.Status, { state: "DONE" }),
    PipeClosedError,
    "cannot send Status frame: the pipe is closed (close() was called)",
  );
});

Deno.test("FrameWriter rejects every send clearly once the other side is gone", async () => {
  const s = sink({ failAfter: 1, delayMs: 1 });
  const out = new FrameWriter(s.writable);
  await out.send(FrameType.Hello, { version: 1 });
  const pending = [1, 2, 3].map((n) => out.send(FrameType.Status, { n }));
  for (const p of pending) {
    const err = await assertRejects(
      () => p,
      PipeClosedError,
      "cannot send Status frame: the pipe is closed (the other side went away: Broken pipe (os error 32))",
    );
    assertInstanceOf(err.cause, Deno.errors.BrokenPipe);
  }
  assertEquals(out.closed, true);
  await assertRejects(
    () => out.sendBytes(FrameType.Log, new Uint8Array(1)),
    PipeClosedError,
  );
  await out.close(); // resolves: nothing left to close
});

Deno.test("FrameWriter rejects bad input without breaking the stream", async () => {
  const s = sink();
  const out = new FrameWriter(s.writable, { maxFrameSize: 100 });
  await assertRejects(() => out.send(FrameType.Status, undefined), TypeError);
  await assertRejects(
    () => out.sendBytes(FrameType.Log, new Uint8Array(101)),
    RangeError,
    "Log frame of 101 bytes exceeds the 100-byte limit",
  );
  await assertRejects(
    () => out.sendBytes(0 as FrameType, new Uint8Array()),
    RangeError,
    "unknown frame type 0",
  );
  await out.sendBytes(FrameType.Log, new Uint8Array(100));
  await out.close();
  const frames = await s.frames();
  assertEquals(frames.length, 1);
  assertEquals(frames[0].payload.length, 100);
});

Deno.test("FrameWriter reports a stream that errors on its own", async () => {
  let fail: (e: unknown) => void = () => {};
  const writable = new WritableStream<Uint8Array>({
    start(controller) {
      fail = (e) => controller.error(e);
    },
  });
  const out = new FrameWriter(writable);
  fail(new Error("reader vanished"));
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(out.closed, true);
  const err = await assertRejects(
    () => out.send(FrameType.End, { state: "DONE", exitCode: 0 }),
    PipeClosedError,
  );
  assertStringIncludes(err.message, "reader vanished");
});

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { encodeFrame } from "./encode_frame.ts";
import { FrameDecoderStream } from "./frame_decoder_stream.ts";
import { type Frame, FrameType, MAX_FRAME_SIZE } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";
import {
  ALL_TYPES,
  assertFramesEqual,
  chunkStream,
  collect,
  concat,
  patterned,
  randomChunks,
  randomInt,
  seededRandom,
} from "./_testing.ts";

function decode(
  chunks: Uint8Array[],
  opts?: { maxFrameSize?: number },
): Promise<Frame[]> {
  return collect(chunkStream(chunks).pipeThrough(new FrameDecoderStream(opts)));
}

function encodeAll(frames: Frame[]): Uint8Array {
  return concat(frames.map((f) => encodeFrame(f.type, f.payload)));
}

/** A header claiming `size` payload bytes, with no payload after it. */
function header(type: number, size: number): Uint8Array {
  const h = new Uint8Array(5);
  new DataView(h.buffer).setUint32(0, size + 1);
  h[4] = type;
  return h;
}

const sample: Frame[] = ALL_TYPES.map((type, k) => ({
  type,
  payload: patterned(k * 13, k),
}));

Deno.test("FrameDecoderStream round-trips every frame type", async () => {
  assertFramesEqual(await decode([encodeAll(sample)]), sample);
});

Deno.test("FrameDecoderStream decodes frames split at every byte boundary", async () => {
  const bytes = encodeAll(sample);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const frames = await decode([bytes.slice(0, cut), bytes.slice(cut)]);
    assertFramesEqual(frames, sample);
  }
  // And with two cuts, so a chunk can lie wholly inside a header.
  for (let a = 0; a < 40; a++) {
    for (let b = a; b < 40; b++) {
      const chunks = [bytes.slice(0, a), bytes.slice(a, b), bytes.slice(b)];
      assertFramesEqual(await decode(chunks), sample);
    }
  }
});

Deno.test("FrameDecoderStream decodes many frames merged in one chunk", async () => {
  const many: Frame[] = [];
  for (let k = 0; k < 500; k++) {
    many.push({
      type: ALL_TYPES[k % ALL_TYPES.length],
      payload: patterned(k % 40, k),
    });
  }
  assertFramesEqual(await decode([encodeAll(many)]), many);
});

Deno.test("FrameDecoderStream hands out views, copying only straddling frames", async () => {
  const a = patterned(100, 1);
  const b = patterned(100, 2);
  const chunk = concat([
    encodeFrame(FrameType.Log, a),
    encodeFrame(FrameType.Log, b),
  ]);
  const cut = 105 + 50;
  const first = chunk.slice(0, cut);
  const second = chunk.slice(cut);
  const frames = await decode([first, second]);
  assertFramesEqual(frames, [
    { type: FrameType.Log, payload: a },
    { type: FrameType.Log, payload: b },
  ]);
  assert(frames[0].payload.buffer === first.buffer, "inside one chunk: a view");
  assert(frames[1].payload.buffer !== second.buffer, "straddling: a copy");
});

Deno.test("FrameDecoderStream decodes zero-length payloads", async () => {
  const empties: Frame[] = ALL_TYPES.map((type) => ({
    type,
    payload: new Uint8Array(),
  }));
  const bytes = encodeAll(empties);
  assertEquals(bytes.length, 5 * empties.length);
  assertFramesEqual(await decode([bytes]), empties);
  assertFramesEqual(
    await decode(Array.from(bytes, (b) => new Uint8Array([b]))),
    empties,
  );
});

Deno.test("FrameDecoderStream accepts exactly the default limit", async () => {
  const payload = patterned(MAX_FRAME_SIZE, 3);
  const bytes = encodeFrame(FrameType.Log, payload);
  const chunks = [bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)];
  assertFramesEqual(await decode(chunks), [{ type: FrameType.Log, payload }]);
});

Deno.test("FrameDecoderStream refuses one byte over the default limit", async () => {
  await assertRejects(
    () => decode([header(FrameType.Log, MAX_FRAME_SIZE + 1)]),
    ProtocolError,
    `frame of ${
      MAX_FRAME_SIZE + 1
    } bytes exceeds the ${MAX_FRAME_SIZE}-byte limit (Log frame at byte offset 0)`,
  );
  await assertRejects(
    () => decode([header(FrameType.Log, 20_000_000)]),
    ProtocolError,
    "frame of 20000000 bytes exceeds the 16777216-byte limit",
  );
});

Deno.test("FrameDecoderStream honours a configured limit", async () => {
  const ok = encodeFrame(FrameType.Log, patterned(10, 1));
  const over = encodeFrame(FrameType.Log, patterned(11, 1));
  assertEquals((await decode([ok], { maxFrameSize: 10 })).length, 1);
  await assertRejects(
    () => decode([ok, over], { maxFrameSize: 10 }),
    ProtocolError,
    "frame of 11 bytes exceeds the 10-byte limit (Log frame at byte offset 15)",
  );
  // The header split over chunks must be checked too.
  await assertRejects(
    () => decode([over.subarray(0, 2), over.subarray(2)], { maxFrameSize: 10 }),
    ProtocolError,
    "frame of 11 bytes exceeds the 10-byte limit",
  );
  assertThrows(
    () => new FrameDecoderStream({ maxFrameSize: 1.5 }),
    RangeError,
    "maxFrameSize must be an integer from 0 to",
  );
});

Deno.test("FrameDecoderStream names text on the stream as the likely cause", async () => {
  const text = new TextEncoder().encode("Hello world\n");
  const err = await assertRejects(
    () => decode([text]),
    ProtocolError,
    "unknown frame type 0x6f at byte offset 0 (is something else writing to the pipe",
  );
  assertStringIncludes(err.message, 'first bytes: "Hello world\\n"');

  // After good frames, in pieces: the offset is that of the bad header.
  const good = encodeAll(sample);
  const bad = concat([good, text]);
  const err2 = await assertRejects(
    () => decode(Array.from(bad, (b) => new Uint8Array([b]))),
    ProtocolError,
    `unknown frame type 0x6f at byte offset ${good.length}`,
  );
  assertStringIncludes(err2.message, '"Hello"');
});

Deno.test("FrameDecoderStream refuses a zero length and unknown types", async () => {
  await assertRejects(
    () => decode([new Uint8Array([0, 0, 0, 0, FrameType.Log])]),
    ProtocolError,
    "frame length 0 at byte offset 0, expected at least 1",
  );
  for (const type of [0, 5, 8, 9, 10, 0x41, 0xff]) {
    await assertRejects(
      () => decode([header(type, 0)]),
      ProtocolError,
      `unknown frame type 0x${
        type.toString(16).padStart(2, "0")
      } at byte offset 0`,
    );
  }
});

Deno.test("FrameDecoderStream errors on input truncated at every cut point", async () => {
  const frames: Frame[] = [
    { type: FrameType.Status, payload: patterned(7, 1) },
    { type: FrameType.Log, payload: patterned(3, 2) },
  ];
  const bytes = encodeAll(frames);
  const ends = [0, 12, bytes.length]; // offsets where a frame ends
  for (let cut = 1; cut < bytes.length; cut++) {
    if (ends.includes(cut)) {
      assertEquals((await decode([bytes.slice(0, cut)])).length, 1);
      continue;
    }
    const err = await assertRejects(
      () => decode([bytes.slice(0, cut)]),
      ProtocolError,
      "stream ended inside a frame",
    );
    const start = cut < 12 ? 0 : 12;
    const inFrame = cut - start;
    if (inFrame < 5) {
      assertStringIncludes(
        err.message,
        `header: ${inFrame} of 5 bytes at byte offset ${start}`,
      );
    } else {
      const total = start === 0 ? 12 : 8;
      assertStringIncludes(err.message, `: ${inFrame} of ${total} bytes`);
      assertStringIncludes(err.message, `at byte offset ${start}`);
    }
  }
});

Deno.test("FrameDecoderStream decodes 1000 frames fed one byte at a time", async () => {
  const rng = seededRandom(1000);
  const frames: Frame[] = [];
  for (let k = 0; k < 1000; k++) {
    frames.push({
      type: ALL_TYPES[randomInt(rng, 0, ALL_TYPES.length - 1)],
      payload: patterned(randomInt(rng, 0, 64), k),
    });
  }
  const bytes = encodeAll(frames);
  const stream = new ReadableStream<Uint8Array>({
    start() {},
    pull: (() => {
      let at = 0;
      return (controller: ReadableStreamDefaultController<Uint8Array>) => {
        if (at < bytes.length) controller.enqueue(bytes.slice(at, ++at));
        else controller.close();
      };
    })(),
  });
  const got = await collect(stream.pipeThrough(new FrameDecoderStream()));
  assertFramesEqual(got, frames);
});

Deno.test("FrameDecoderStream property: random frames, random chunkings", async () => {
  const rng = seededRandom(0x5eed);
  for (let round = 0; round < 300; round++) {
    const frames: Frame[] = [];
    const count = randomInt(rng, 0, 25);
    for (let k = 0; k < count; k++) {
      const pick = rng();
      const size = pick < 0.2
        ? 0
        : pick < 0.8
        ? randomInt(rng, 1, 300)
        : randomInt(rng, 301, 200_000);
      frames.push({
        type: ALL_TYPES[randomInt(rng, 0, ALL_TYPES.length - 1)],
        payload: patterned(size, round * 31 + k),
      });
    }
    const bytes = encodeAll(frames);
    assertFramesEqual(await decode(randomChunks(bytes, rng)), frames);
    if (bytes.length > 0) {
      // Any strict prefix that is not a frame boundary must fail.
      const cut = randomInt(rng, 1, bytes.length - 1);
      let boundary = cut === 0;
      for (let at = 0, k = 0; at < cut && k < frames.length; k++) {
        at += 5 + frames[k].payload.length;
        if (at === cut) boundary = true;
      }
      const prefix = bytes.slice(0, cut);
      if (boundary) {
        await decode(randomChunks(prefix, rng));
      } else {
        const err = await assertRejects(
          () => decode(randomChunks(prefix, rng)),
          ProtocolError,
        );
        assertMatch(err.message, /^stream ended inside a frame/);
      }
    }
  }
});

import { assertEquals, assertThrows } from "@std/assert";
import { encodeFrame, encodeJsonFrame } from "./encode_frame.ts";
import { FrameType, MAX_FRAME_SIZE } from "./frame_type.ts";
import { ALL_TYPES, patterned } from "./_testing.ts";

Deno.test("encodeFrame() writes a big-endian length counting the type byte", () => {
  const bytes = encodeFrame(FrameType.Log, new Uint8Array([0xaa, 0xbb, 0xcc]));
  assertEquals(Array.from(bytes), [0, 0, 0, 4, 6, 0xaa, 0xbb, 0xcc]);
});

Deno.test("encodeFrame() encodes a length above 2^24 in all four bytes", () => {
  const size = 0x01_02_03;
  const bytes = encodeFrame(FrameType.Log, patterned(size, 1));
  assertEquals(Array.from(bytes.subarray(0, 5)), [0, 0x01, 0x02, 0x04, 6]);
  assertEquals(bytes.subarray(5), patterned(size, 1));
});

Deno.test("encodeFrame() handles every type and an empty payload", () => {
  for (const type of ALL_TYPES) {
    assertEquals(Array.from(encodeFrame(type, new Uint8Array())), [
      0,
      0,
      0,
      1,
      type,
    ]);
  }
});

Deno.test("encodeFrame() accepts exactly the limit and refuses one more", () => {
  encodeFrame(FrameType.Log, new Uint8Array(MAX_FRAME_SIZE));
  assertThrows(
    () => encodeFrame(FrameType.Log, new Uint8Array(MAX_FRAME_SIZE + 1)),
    RangeError,
    `Log frame of ${
      MAX_FRAME_SIZE + 1
    } bytes exceeds the ${MAX_FRAME_SIZE}-byte limit`,
  );
  assertThrows(
    () => encodeFrame(FrameType.Log, new Uint8Array(11), { maxFrameSize: 10 }),
    RangeError,
    "11 bytes exceeds the 10-byte limit",
  );
});

Deno.test("encodeFrame() refuses an unknown type and a bad limit", () => {
  assertThrows(
    () => encodeFrame(0x41 as FrameType, new Uint8Array()),
    RangeError,
    "cannot encode unknown frame type 65: expected one of Hello=1",
  );
  assertThrows(
    () => encodeFrame(FrameType.Log, new Uint8Array(), { maxFrameSize: -1 }),
    RangeError,
    "maxFrameSize must be an integer",
  );
});

Deno.test("encodeJsonFrame() encodes UTF-8 JSON", () => {
  const bytes = encodeJsonFrame(FrameType.Status, { state: "RUNNING", m: "é" });
  const json = '{"state":"RUNNING","m":"é"}';
  const payload = new TextEncoder().encode(json);
  assertEquals(bytes[3], payload.length + 1);
  assertEquals(new TextDecoder().decode(bytes.subarray(5)), json);
});

Deno.test("encodeJsonFrame() refuses values JSON cannot carry", () => {
  assertThrows(
    () => encodeJsonFrame(FrameType.Status, undefined),
    TypeError,
    "cannot encode Status frame: undefined is not JSON-serialisable",
  );
  assertThrows(() => encodeJsonFrame(FrameType.Status, { n: 1n }), TypeError);
});

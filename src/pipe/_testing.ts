// Helpers for this directory's tests only: a seeded RNG, chunkers and streams.
import { AssertionError } from "@std/assert";
import type { Frame } from "./frame_type.ts";
import { FrameType } from "./frame_type.ts";
import { Random } from "../../tests/_random.ts";

/** The tests' one seeded PRNG, as a function returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** An integer in [lo, hi]. */
export function randomInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Bytes whose values depend on `seed`, so mix-ups show. */
export function patterned(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return out;
}

/** All frame type values. */
export const ALL_TYPES: FrameType[] = Object.values(FrameType);

/** Concatenates buffers. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `bytes` at random points; chunk sizes vary from 1 byte up. */
export function randomChunks(
  bytes: Uint8Array,
  rng: () => number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    // Mix tiny, medium and large chunks so every parser path is taken.
    const pick = rng();
    const size = pick < 0.3
      ? randomInt(rng, 1, 6)
      : pick < 0.7
      ? randomInt(rng, 7, 4096)
      : randomInt(rng, 4097, 300_000);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** A plain (non-byte) stream giving exactly `chunks`. */
export function chunkStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

/** A byte stream (BYOB-capable) fed with `chunks`, one per pull. */
export function byteStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let k = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (k < chunks.length) controller.enqueue(chunks[k++].slice());
      else {
        controller.close();
        // A pending BYOB read must be answered after close.
        controller.byobRequest?.respond(0);
      }
    },
  });
}

/** Reads a stream of frames to the end. */
export async function collect(stream: ReadableStream<Frame>): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of stream) frames.push(f);
  return frames;
}

/** Asserts two frame lists are equal, naming the first difference. */
export function assertFramesEqual(actual: Frame[], expected: Frame[]): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(
      `got ${actual.length} frames, expected ${expected.length}`,
    );
  }
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k];
    const e = expected[k];
    if (a.type !== e.type) {
      throw new AssertionError(
        `frame ${k}: type ${a.type}, expected ${e.type}`,
      );
    }
    if (!sameBytes(a.payload, e.payload)) {
      throw new AssertionError(
        `frame ${k}: payload of ${a.payload.length} bytes differs from the expected ${e.payload.length}`,
      );
    }
  }
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

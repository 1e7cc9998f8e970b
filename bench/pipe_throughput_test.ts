import { assertGreater, assertRejects } from "@std/assert";
import { benchPipe } from "./pipe_throughput.ts";

Deno.test("benchPipe() moves the bytes through both children and reports rates", async () => {
  const r = await benchPipe({
    bytes: 8 * 1024 * 1024 + 123,
    frameSize: 256 * 1024,
  });
  assertGreater(r.oursMBps, 0);
  assertGreater(r.catMBps, 0);
  assertGreater(r.ratio, 0);
});

Deno.test("benchPipe() refuses bad sizes", async () => {
  await assertRejects(
    () => benchPipe({ bytes: 0 }),
    RangeError,
    "bytes must be a positive integer",
  );
  await assertRejects(
    () => benchPipe({ frameSize: 1.5 }),
    RangeError,
    "frameSize must be",
  );
});

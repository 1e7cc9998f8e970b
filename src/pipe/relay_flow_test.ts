import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  BodyFlag,
  decodeBody,
  decodeCredit,
  encodeBody,
  encodeCredit,
  RELAY_CHUNK,
  RELAY_WINDOW,
} from "./relay_frames.ts";
import { BodyInlet, CreditGate, pumpBody } from "./relay_flow.ts";
import { ProtocolError } from "./protocol_error.ts";

Deno.test("relay frames: body and credit round-trip; bad ones are protocol errors", () => {
  const b = decodeBody(
    encodeBody(0xfffffffe, BodyFlag.End, new Uint8Array([9])),
  );
  assertEquals([b.id, b.flag, [...b.data]], [0xfffffffe, BodyFlag.End, [9]]);
  assertEquals(decodeCredit(encodeCredit(5, 4096)), { id: 5, bytes: 4096 });
  assertThrows(
    () => decodeBody(new Uint8Array(4)),
    ProtocolError,
    "at least 5",
  );
  assertThrows(
    () => decodeBody(new Uint8Array([0, 0, 0, 1, 7])),
    ProtocolError,
    "flag 7",
  );
  assertThrows(
    () => decodeCredit(new Uint8Array(9)),
    ProtocolError,
    "expected 8",
  );
});

/** A source of `total` bytes in `chunk`-byte reads, counting what was read. */
function source(total: number, chunk: number) {
  const seen = { read: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.read >= total) return c.close();
      const n = Math.min(chunk, total - seen.read);
      seen.read += n;
      c.enqueue(new Uint8Array(n).fill(seen.read & 0xff));
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

Deno.test("pumpBody sends no more than its credit: a stalled receiver stalls the reads", async () => {
  const src = source(4 * 2 ** 20, 100_000);
  const gate = new CreditGate();
  const sent: number[] = [];
  const done = pumpBody(src.stream, gate, (flag, data) => {
    if (flag === BodyFlag.Data) sent.push(data.length);
    return Promise.resolve();
  });
  // Nothing is granted: the pump stops at the window.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  const inFlight = sent.reduce((a, b) => a + b, 0);
  assertEquals(inFlight, RELAY_WINDOW);
  assertEquals(sent.every((n) => n <= RELAY_CHUNK), true);
  // Read-ahead is one source chunk at most beyond what was sent.
  assertEquals(src.seen.read <= RELAY_WINDOW + 100_000, true);
  gate.fail(new Error("receiver went away"));
  await assertRejects(() => done, Error, "receiver went away");
});

Deno.test("BodyInlet + pumpBody move a large body through with at most a window queued", async () => {
  const total = 3 * 2 ** 20 + 17;
  const src = source(total, 50_000);
  const gate = new CreditGate();
  let maxQueued = 0;
  let queued = 0;
  const inlet = new BodyInlet({
    grant: (n) => {
      queued -= n;
      gate.grant(n);
    },
  });
  const pumped = pumpBody(src.stream, gate, (flag, data) => {
    queued += data.length;
    maxQueued = Math.max(maxQueued, queued);
    inlet.push(data);
    if (flag === BodyFlag.End) inlet.end();
    return Promise.resolve();
  });
  let got = 0;
  for await (const c of inlet.stream) {
    got += c.length;
    await new Promise((r) => setTimeout(r, 0)); // a slow consumer
  }
  assertEquals(await pumped, total);
  assertEquals(got, total);
  assertEquals(maxQueued <= RELAY_WINDOW, true, `queued ${maxQueued}`);
});

Deno.test("BodyInlet refuses a sender that overruns its credit or the size bound", async () => {
  const inlet = new BodyInlet({ grant: () => {}, window: 10 });
  inlet.push(new Uint8Array(10));
  assertThrows(
    () => inlet.push(new Uint8Array(1)),
    ProtocolError,
    "overran its credit",
  );
  await assertRejects(() => inlet.stream.getReader().read(), ProtocolError);
  const small = new BodyInlet({ grant: () => {}, maxBytes: 5 });
  assertThrows(() => small.push(new Uint8Array(6)), RangeError, "5-byte limit");
});

Deno.test("pumpBody cuts a body past maxBytes with an abort frame", async () => {
  const flags: number[] = [];
  await assertRejects(
    () =>
      pumpBody(source(1000, 100).stream, new CreditGate(), (flag) => {
        flags.push(flag);
        return Promise.resolve();
      }, 450),
    RangeError,
    "450-byte limit",
  );
  assertEquals(flags.at(-1), BodyFlag.Abort);
});

import { assertEquals, assertRejects } from "@std/assert";
import { EventEmitter } from "node:events";
import { type ResponseSink, writeResponse } from "./write_response.ts";

/**
 * A ServerResponse stand-in whose writes complete only when the test says
 * so, the way a socket full of unread data behaves.
 */
class SlowSocketResponse extends EventEmitter {
  calls: string[] = [];
  pending: ((e?: Error | null) => void)[] = [];
  writeHead(status: number) {
    this.calls.push(`head ${status}`);
    return this;
  }
  write(chunk: Uint8Array, cb?: (e?: Error | null) => void) {
    this.calls.push(`write ${chunk.byteLength}`);
    if (cb) this.pending.push(cb);
    return true; // short chunks are taken without waiting for drain
  }
  end() {
    this.calls.push("end");
    return this;
  }
  /** Completes every write in flight. */
  flush() {
    for (const cb of this.pending.splice(0)) cb(null);
  }
}

const GET = {
  complete: true,
  method: "GET",
  pause: () => {},
  socket: {},
} as unknown as Parameters<typeof writeResponse>[0];

function body(...chunks: number[]): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        const n = chunks.shift();
        // The end of a file comes after a read of its own (a macrotask).
        await new Promise((r) => setTimeout(r, 1));
        if (n === undefined) c.close();
        else c.enqueue(new Uint8Array(n));
      },
    }),
  );
}

Deno.test("writeResponse: end() only once the last write has completed", async () => {
  const res = new SlowSocketResponse();
  const done = writeResponse(
    GET,
    res as unknown as ResponseSink,
    body(65536, 100),
  );
  // The body is read to its end, but the last write is still in flight.
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(res.calls, ["head 200", "write 65536", "write 100"]);
  res.flush();
  await done;
  assertEquals(res.calls.at(-1), "end");
});

Deno.test("writeResponse: empty chunks are not written; no body ends at once", async () => {
  const res = new SlowSocketResponse();
  const done = writeResponse(
    GET,
    res as unknown as ResponseSink,
    body(0, 10, 0),
  );
  await new Promise((r) => setTimeout(r, 50));
  res.flush();
  await done;
  assertEquals(res.calls, ["head 200", "write 10", "end"]);
  const empty = new SlowSocketResponse();
  await writeResponse(
    GET,
    empty as unknown as ResponseSink,
    new Response(null, { status: 204 }),
  );
  assertEquals(empty.calls, ["head 204", "end"]);
});

Deno.test("writeResponse: a client gone while the last write waits rejects, leaving no listener", async () => {
  const res = new SlowSocketResponse();
  const done = writeResponse(GET, res as unknown as ResponseSink, body(10));
  await new Promise((r) => setTimeout(r, 50));
  res.emit("close");
  await assertRejects(() => done, Error, "client went away");
  assertEquals(res.listenerCount("close"), 0);
  assertEquals(res.calls.includes("end"), false);
});

import { assertEquals } from "@std/assert";
import { whenSent } from "./body_sent.ts";

Deno.test("whenSent: called after the last chunk is read, not before", async () => {
  let sent = 0;
  const body = whenSent(
    ReadableStream.from([new Uint8Array([1]), new Uint8Array([2, 3])]),
    () => sent++,
  );
  const reader = body.getReader();
  assertEquals((await reader.read()).value, new Uint8Array([1]));
  assertEquals(sent, 0);
  assertEquals((await reader.read()).value, new Uint8Array([2, 3]));
  assertEquals((await reader.read()).done, true);
  assertEquals(sent, 1);
});

Deno.test("whenSent: a cancelled body is never called sent", async () => {
  let sent = 0;
  const body = whenSent(
    ReadableStream.from([new Uint8Array([1]), new Uint8Array([2])]),
    () => sent++,
  );
  const reader = body.getReader();
  await reader.read();
  await reader.cancel();
  assertEquals(sent, 0);
});

import { assertEquals } from "@std/assert";
import { capped } from "./capped.ts";

Deno.test("capped: returns when the promise settles, rejections included", async () => {
  let done = false;
  await capped(Promise.resolve().then(() => done = true), 60_000);
  assertEquals(done, true);
  await capped(Promise.reject(new Error("ignored")), 60_000);
  await capped(undefined);
});

Deno.test("capped: gives up on a promise that never settles", async () => {
  await capped(new Promise(() => {}), 1);
});

import { assertEquals } from "@std/assert";
import { sha256 } from "./_sha256.ts";

Deno.test("sha256: known vectors", () => {
  const enc = new TextEncoder();
  assertEquals(
    sha256(new Uint8Array(0)).toHex(),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    sha256(enc.encode("abc")).toHex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("sha256: matches Web Crypto across block boundaries", async () => {
  for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 447, 1000, 70000]) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) {
      data.set(
        crypto.getRandomValues(new Uint8Array(Math.min(65536, n - i))),
        i,
      );
    }
    const want = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    assertEquals(sha256(data).toHex(), want.toHex(), `length ${n}`);
  }
});

import { assertEquals, assertThrows } from "@std/assert";
import { checkDeclaredSize, parseSize } from "./upload_limit.ts";
import { HttpError } from "./errors.ts";
import { main as brokerMain } from "../cli/broker_cmd.ts";

Deno.test("parseSize: bytes and binary units; junk is refused", () => {
  assertEquals(parseSize("1048576"), 1048576);
  assertEquals(parseSize("512M"), 512 * 1024 ** 2);
  assertEquals(parseSize("4G"), 4 * 1024 ** 3);
  assertEquals(parseSize("1TiB"), 1024 ** 4);
  for (const bad of ["", "0", "-1", "1.5G", "4X", "G"]) {
    assertThrows(() => parseSize(bad), TypeError);
  }
});

Deno.test("checkDeclaredSize: 413 over the limit, nothing to check without a length", () => {
  const req = (len: string) =>
    new Request("https://x/", {
      method: "PUT",
      headers: { "content-length": len },
    });
  checkDeclaredSize(req("100"), 100);
  const over = assertThrows(
    () => checkDeclaredSize(req("101"), 100),
    HttpError,
  );
  assertEquals(over.status, 413);
  checkDeclaredSize(new Request("https://x/"), 100);
});

Deno.test("broker serve: a bad --max-upload or --max-connections is a usage error", async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assertEquals(
      await brokerMain([
        "serve",
        "--state",
        "/nonexistent",
        "--max-upload",
        "lots",
      ]),
      2,
    );
    assertEquals(
      await brokerMain([
        "serve",
        "--state",
        "/nonexistent",
        "--max-connections",
        "0",
      ]),
      2,
    );
  } finally {
    console.error = orig;
  }
  assertEquals(errors.length, 2);
  assertEquals(errors.every((e) => e.startsWith("error: --max-")), true);
});

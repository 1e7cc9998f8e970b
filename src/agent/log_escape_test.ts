import { assertEquals } from "@std/assert";
import { escapeControl } from "./log_escape.ts";

Deno.test("log escape: control bytes become visible escapes; text and tabs stay", () => {
  assertEquals(
    escapeControl("a\x1b[2Jb\rc\x00d\x7fe\x9bf\u2028g\th ünï"),
    "a\\x1b[2Jb\\x0dc\\x00d\\x7fe\\x9bf\\u2028g\th ünï",
  );
  assertEquals(escapeControl("new\nline"), "new\\x0aline");
});

import { assertEquals } from "@std/assert";
import { escapeControl, StreamEscaper } from "./log_escape.ts";

Deno.test("log escape: control bytes become visible escapes; text and tabs stay", () => {
  assertEquals(
    escapeControl("a\x1b[2Jb\rc\x00d\x7fe\x9bf\u2028g\th ünï"),
    "a\\x1b[2Jb\\x0dc\\x00d\\x7fe\\x9bf\\u2028g\th ünï",
  );
  assertEquals(escapeControl("new\nline"), "new\\x0aline");
});

Deno.test("StreamEscaper: escapes whole lines across chunks, keeps newlines", () => {
  const e = new StreamEscaper();
  const enc = new TextEncoder();
  assertEquals(e.push(enc.encode("\x1b[31mERR")), "");
  assertEquals(
    e.push(enc.encode("OR\x1b[0m\nnext\rline\npar")),
    "\\x1b[31mERROR\\x1b[0m\nnext\\x0dline\n",
  );
  assertEquals(e.flush(), "par\n");
  assertEquals(e.flush(), "");
});

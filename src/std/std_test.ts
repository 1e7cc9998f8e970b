import {
  assertEquals,
  AssertionError,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import { ArgsError, parseArgs } from "./cli.ts";
import { TextLineStream, toText } from "./streams.ts";

Deno.test("assertEquals fails on a difference", () => {
  assertThrows(() => assertEquals({ a: 1 }, { a: 2 }), AssertionError);
  assertEquals([1, { b: "x" }], [1, { b: "x" }]);
});

Deno.test("assertRejects checks the error class and message", async () => {
  const e = await assertRejects(
    () => Promise.reject(new TypeError("bad thing")),
    TypeError,
    "bad",
  );
  assertEquals(e.message, "bad thing");
  await assertRejects(() => assertRejects(() => Promise.resolve(), TypeError));
});

Deno.test("parseArgs: strings, booleans, collect, alias and positionals", () => {
  const a = parseArgs(["x", "--out", "d", "-v", "--tag", "1", "--tag", "2"], {
    string: ["out"],
    boolean: ["verbose", "json"],
    collect: ["tag"],
    alias: { v: "verbose" },
  });
  assertEquals(a._, ["x"]);
  assertEquals([a.out, a.verbose, a.json, a.tag], ["d", true, false, [
    "1",
    "2",
  ]]);
});

Deno.test("parseArgs: unknown flags and missing values are one-line errors", () => {
  const e = assertThrows(
    () => parseArgs(["--nope"], { string: ["out"] }),
    ArgsError,
  );
  assertEquals(
    e.message.includes("--nope") && e.message.includes("--out"),
    true,
  );
  assertThrows(() => parseArgs(["--out"], { string: ["out"] }), ArgsError);
});

Deno.test("TextLineStream splits across chunks and strips CR", async () => {
  const lines = await Array.fromAsync(
    ReadableStream.from(["a\r\nb", "c\nd"]).pipeThrough(new TextLineStream()),
  );
  assertEquals(lines, ["a", "bc", "d"]);
});

Deno.test("toText joins the chunks of a byte stream", async () => {
  const enc = new TextEncoder();
  const stream = ReadableStream.from([enc.encode("x"), enc.encode("é")]);
  assertEquals(await toText(stream), "xé");
});

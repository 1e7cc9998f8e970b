import {
  assertEquals,
  AssertionError,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { parseArgs } from "@std/cli";
import { TextLineStream, toText } from "@std/streams";

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

Deno.test("parseArgs: std semantics for unknown flags, missing values and numbers", () => {
  // As jsr:@std/cli: unknown flags are kept, a string flag without a value
  // is "", numeric positionals become numbers, `--` ends the flags.
  const a = parseArgs(["--nope", "v", "--out", "7", "--", "--x"], {
    string: ["out"],
  });
  assertEquals([a.nope, a.out, a._], ["v", "7", ["--x"]]);
  assertEquals(parseArgs(["--out"], { string: ["out"] }).out, "");
  assertEquals(parseArgs(["42", "-"], {})._, [42, "-"]);
});

Deno.test("parseArgs: the unknown hook sees unknown flags and positionals", () => {
  const seen: [string, string | undefined][] = [];
  const a = parseArgs(["x", "--nope=1", "-q", "--out", "d"], {
    string: ["out"],
    unknown: (arg, key) => {
      seen.push([arg, key]);
      return false;
    },
  });
  assertEquals(seen, [["x", undefined], ["--nope=1", "nope"], ["-q", "q"]]);
  assertEquals([a._, a.out, a.nope, a.q], [[], "d", undefined, undefined]);
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

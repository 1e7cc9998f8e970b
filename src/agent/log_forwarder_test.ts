import { assertEquals } from "@std/assert";
import { type ForwardedLine, LogForwarder } from "./log_forwarder.ts";
import { eventually } from "../../tests/_eventually.ts";

Deno.test("log forwarder: batches off the caller's path, bounded, failures dropped, last batch marked", async () => {
  const sent: { lines: ForwardedLine[]; eof: boolean }[] = [];
  let fail = false;
  const f = new LogForwarder(async (lines, eof) => {
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error("429");
    sent.push({ lines, eof });
  }, { intervalMs: 20, maxBuffered: 3 });
  f.push("stdout", ["1", "2"]);
  f.push("stderr", ["3", "4"]); // "1" falls off the bound
  assertEquals(sent.length, 0, "push never sends itself");
  await eventually("the first batch", () => sent.length > 0);
  assertEquals(sent.map((b) => b.lines.map((l) => l.text)), [["2", "3", "4"]]);
  fail = true;
  f.push("stdout", ["5"]);
  // "1" fell off the bound; the failed batch ("5") is the second drop.
  await eventually("the failed batch to be dropped", () => f.dropped === 2);
  fail = false;
  f.push("stdout", ["6"]);
  await f.close();
  f.push("stdout", ["after close"]);
  assertEquals(sent.map((b) => [b.lines.map((l) => l.text), b.eof]), [
    [["2", "3", "4"], false],
    [["6"], true],
  ]);
  assertEquals(f.dropped, 2);
});

import { assertEquals } from "@std/assert";
import { LiveLog } from "./live_log.ts";

Deno.test("live log: pages after a sequence number, bounded lines, jobs and rate", () => {
  const log = new LiveLog({ maxLines: 3, maxJobs: 2, appendsPerSecond: 2 });
  const t = 5_000_000;
  assertEquals(log.append("1", [{ stream: "stdout", text: "a" }], t), true);
  assertEquals(
    log.append("1", [{ stream: "bogus", text: "b" }, {
      stream: "stderr",
      text: "c".repeat(2000),
    }], t),
    true,
  );
  assertEquals(
    log.append("1", [{ stream: "stdout", text: "x" }], t),
    false,
    "rate",
  );
  let p = log.read("1", 0);
  assertEquals(p.lines.map((l) => [l.seq, l.stream, l.text.length]), [
    [1, "stdout", 1],
    [2, "stdout", 1],
    [3, "stderr", 1000],
  ]);
  assertEquals([p.next, p.dropped, p.ended], [3, 0, false]);
  assertEquals(log.read("1", 3).ended, false, "no end mark yet");
  assertEquals(
    log.append("1", [{ stream: "stdout", text: "d" }], t + 1000),
    true,
  );
  p = log.read("1", 0);
  assertEquals(p.lines.map((l) => l.seq), [2, 3, 4]);
  assertEquals(p.dropped, 1, "line 1 fell off the bound");
  assertEquals(log.read("1", 4).lines, []);
  // The last append always counts, and marks the end once read up to it.
  assertEquals(
    log.append("1", [{ stream: "stdout", text: "e" }], t + 1000, true),
    true,
  );
  assertEquals(log.append("1", [], t + 1000, true), true);
  assertEquals(log.read("1", 4).lines.map((l) => l.text), ["e"]);
  assertEquals(log.read("1", 4).ended, true, "this page reaches the end");
  assertEquals(log.read("1", 5).ended, true);
  // A third job pushes out the least recently written.
  log.append("2", [{ stream: "stdout", text: "x" }], t);
  log.append("3", [{ stream: "stdout", text: "y" }], t);
  assertEquals(log.read("1", 0).lines, []);
  assertEquals(log.read("3", 0).lines.length, 1);
});

/**
 * Multi-core slots: with `--cores 2`, four 1-core jobs run two at a time.
 * Each payload writes when it started and ended into an output file; the
 * test checks from those timestamps that two jobs overlapped and that
 * never more than two ran at once.
 */
import { assertEquals, assertGreater, assertGreaterOrEqual } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import { job, marker, shellJdl } from "./_agent_helpers.ts";

/** The most intervals that overlap at one instant. */
function maxOverlap(intervals: [number, number][]): number {
  const events = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]]);
  // At equal times, ends first: touching intervals do not overlap.
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0, max = 0;
  for (const [, d] of events) max = Math.max(max, now += d);
  return max;
}

Deno.test("maxOverlap counts concurrent intervals", () => {
  assertEquals(maxOverlap([[0, 2], [1, 3], [2, 4]]), 2);
  assertEquals(maxOverlap([[0, 1], [1, 2]]), 1);
  assertEquals(maxOverlap([[0, 5], [1, 4], [2, 3]]), 3);
});

Deno.test({
  name: "agent --cores 2 runs four 1-core jobs two at a time",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    const m = marker();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(
          await grid.submit(
            shellJdl(
              `date +%s.%N > ts.txt; sleep 3; date +%s.%N >> ts.txt`,
              `${m}${i}`,
              { OutputFile: "ts.txt" },
            ),
          ),
        );
      }
      const agent = await grid.runAgent({
        containers: "bwrap",
        extraArgs: ["--cores", "2", "--max-empty", "1", "--heartbeat", "1"],
      });
      assertEquals(agent.code, 0, agent.log);
      const intervals: [number, number][] = [];
      for (const id of ids) {
        const j = await job(grid, id);
        assertEquals(j.state, "DONE", agent.log);
        // Accounting: the usage the agent sent when the payload ended.
        assertGreaterOrEqual(j.usage?.wallSeconds ?? 0, 3, agent.log);
        assertGreater(j.usage?.maxRssBytes ?? 0, 0);
        const text = await (await grid.user.download(
          `/jdoe/jobs/${id}/ts.txt`,
        )).text();
        const [start, end] = text.trim().split("\n").map(Number);
        assertGreaterOrEqual(end - start, 3);
        intervals.push([start, end]);
      }
      assertEquals(maxOverlap(intervals), 2, JSON.stringify(intervals));
    } finally {
      await grid.close();
    }
  },
});

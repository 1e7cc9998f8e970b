import { assertEquals } from "@std/assert";
import {
  chaosCounts,
  type ChaosTraceEntry,
  unexplainedReruns,
} from "./_chaos_counts.ts";

const t = (...s: [string, number, string?][]): ChaosTraceEntry[] =>
  s.map(([state, at, reason]) => ({
    state,
    at: new Date(at).toISOString(),
    reason: reason ?? "",
  }));

Deno.test("unexplainedReruns: a rerun after success needs a death or an outage", () => {
  const once = t(["WAITING", 0], ["ASSIGNED", 1], ["RUNNING", 2], [
    "SAVING",
    3,
  ], ["DONE", 4]);
  assertEquals(unexplainedReruns(once, []), 0);
  const zombie = t(
    ["ASSIGNED", 1],
    ["SAVING", 3],
    ["ZOMBIE", 9],
    [
      "WAITING",
      9,
    ],
    ["ASSIGNED", 10],
    ["SAVING", 12],
    ["DONE", 13],
  );
  assertEquals(unexplainedReruns(zombie, []), 0);
  const silent = t(
    ["ASSIGNED", 1],
    ["SAVING", 3],
    ["WAITING", 9],
    [
      "ASSIGNED",
      10,
    ],
    ["SAVING", 12],
    ["DONE", 13],
  );
  assertEquals(unexplainedReruns(silent, []), 1);
  assertEquals(
    unexplainedReruns(silent, [{ target: "broker", at: 5, until: 6 }]),
    0,
  );
  assertEquals(
    unexplainedReruns(silent, [{ target: "broker", at: 11, until: 12 }]),
    1,
  );
  const wrapper = t(
    ["ASSIGNED", 1],
    ["SAVING", 3],
    [
      "ERROR_SV",
      4,
      "wrapper died in stage SAVING",
    ],
    ["WAITING", 5],
    ["ASSIGNED", 6],
    ["SAVING", 7],
  );
  assertEquals(unexplainedReruns(wrapper, []), 0);
});

Deno.test("chaosCounts counts each violation once", () => {
  const done = t(["WAITING", 0], ["SAVING", 1], ["DONE", 2]);
  const c = chaosCounts(
    [
      { id: "1", state: "DONE", attempt: 0, trace: done, output: "1 0\n" },
      { id: "2", trace: [] },
      { id: "3", state: "RUNNING", attempt: 0, trace: [] },
      {
        id: "4",
        state: "DONE",
        attempt: 1,
        trace: [...done, ...done],
        output: "4 0",
      },
    ],
    [],
    { orphans: 2, sandboxes: 0 },
  );
  assertEquals(c, {
    "acknowledged jobs lost": 1,
    "jobs not final": 1,
    "jobs DONE twice": 1,
    "successful payloads re-run unexplained": 1,
    "DONE jobs with outputs not from their final attempt": 1,
    "orphan processes": 2,
    "leftover sandboxes": 0,
  });
});

import { assert, assertEquals } from "@std/assert";
import { alreadyApplied, attemptEntries } from "./attempts.ts";
import type { TraceEntry } from "./store.ts";
import type { JobState } from "./states.ts";

const t = (...states: JobState[]): TraceEntry[] =>
  states.map((state, i) => ({ at: i, state, actor: "x", reason: "" }));

const TRACE = t(
  "WAITING",
  "ASSIGNED",
  "STARTED",
  "ERROR_IB",
  "WAITING",
  "ASSIGNED",
  "STARTED",
  "RUNNING",
  "SAVING",
  "DONE",
);

Deno.test("attemptEntries splits the trace at each resubmission", () => {
  assertEquals(attemptEntries(TRACE, 0).map((e) => e.state), [
    "ASSIGNED",
    "STARTED",
    "ERROR_IB",
    "WAITING",
  ]);
  assertEquals(attemptEntries(TRACE, 1).map((e) => e.state), [
    "ASSIGNED",
    "STARTED",
    "RUNNING",
    "SAVING",
    "DONE",
  ]);
  assertEquals(attemptEntries(TRACE, 2), []);
});

Deno.test("alreadyApplied: a resent report of its own attempt only", () => {
  assert(alreadyApplied(TRACE, 1, "DONE"));
  assert(alreadyApplied(TRACE, 1, "RUNNING"));
  assert(alreadyApplied(TRACE, 0, "ERROR_IB"));
  assert(alreadyApplied(TRACE, 0, "WAITING"));
  assert(!alreadyApplied(TRACE, 0, "DONE"));
  assert(!alreadyApplied(TRACE, 1, "ERROR_E"));
  assert(!alreadyApplied(TRACE, 2, "ASSIGNED"));
});

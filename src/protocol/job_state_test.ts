import { assert, assertEquals } from "@std/assert";
import {
  ACTIVE_ORDER,
  ACTIVE_STATES,
  canTransition,
  FINAL_STATES,
  isActive,
  isJobState,
  JOB_STATES,
  RESUBMITTABLE,
  sqlStateList,
  TRANSITIONS,
} from "./job_state.ts";

Deno.test("states: every state is either waiting, active or final", () => {
  for (const s of JOB_STATES) {
    const kinds = [s === "WAITING", ACTIVE_STATES.has(s), FINAL_STATES.has(s)];
    assertEquals(kinds.filter(Boolean).length, 1, s);
  }
  assert(isJobState("DONE") && !isJobState("done") && !isJobState(3));
});

Deno.test("states: final states are those whose only move is back to WAITING", () => {
  for (const s of JOB_STATES) {
    const onward = TRANSITIONS[s].filter((t) => t !== "WAITING");
    assertEquals(
      FINAL_STATES.has(s),
      s !== "WAITING" && onward.length === 0,
      s,
    );
  }
});

Deno.test("states: isActive and the SQL list follow the active states", () => {
  assertEquals([...ACTIVE_STATES], [...ACTIVE_ORDER]);
  assert(isActive("RUNNING") && !isActive("DONE") && !isActive("running"));
  assertEquals(
    sqlStateList(ACTIVE_STATES),
    "('ASSIGNED', 'STARTED', 'RUNNING', 'SAVING')",
  );
});

Deno.test("states: a job is only ever assigned from WAITING", () => {
  for (const s of JOB_STATES) {
    assertEquals(canTransition(s, "ASSIGNED"), s === "WAITING", s);
  }
});

Deno.test("states: final states leave only by resubmission; DONE never, KILLED by hand", () => {
  for (const s of FINAL_STATES) {
    for (const to of TRANSITIONS[s]) {
      assertEquals(to, "WAITING", `${s} → ${to}`);
    }
  }
  assertEquals(TRANSITIONS.DONE, []);
  assertEquals(TRANSITIONS.DONE_WARN, []);
  assertEquals(TRANSITIONS.KILLED, ["WAITING"]);
  assert(!RESUBMITTABLE.has("KILLED"), "the broker never resubmits a kill");
  for (const s of RESUBMITTABLE) assert(canTransition(s, "WAITING"), s);
});

Deno.test("states: every active state can be killed, lost or preempted, and the path runs forward", () => {
  for (const s of ACTIVE_STATES) {
    for (const to of ["KILLED", "ZOMBIE", "WAITING"] as const) {
      assert(canTransition(s, to), `${s} → ${to}`);
    }
  }
  const path = ["WAITING", ...ACTIVE_ORDER, "DONE"] as const;
  for (let i = 1; i < path.length; i++) {
    assert(canTransition(path[i - 1], path[i]));
    // No skipping ahead, no going back (except WAITING as resubmission).
    for (let j = i + 1; j < path.length; j++) {
      assert(
        !canTransition(path[i - 1], path[j]),
        `${path[i - 1]} → ${path[j]}`,
      );
    }
    for (let j = 1; j < i; j++) {
      assert(!canTransition(path[i], path[j]), `${path[i]} → ${path[j]}`);
    }
  }
});

import { assert, assertEquals } from "@std/assert";
import { KillReason } from "../protocol/kill_reason.ts";
import {
  deathState,
  decideOutcome,
  exitCodeOf,
  lastLines,
  type WrapperEnd,
} from "./wrapper_outcome.ts";

const USAGE = { cpuSeconds: 1, rssBytes: 2, wallSeconds: 3, diskBytes: 4 };

function ended(over: Partial<WrapperEnd>): WrapperEnd {
  return {
    status: { success: true, code: 0, signal: null },
    stage: "RUNNING",
    errTail: "",
    usage: USAGE,
    startedAt: 1000,
    endedAt: 2000,
    ...over,
  };
}

Deno.test("outcome: the wrapper's own end report wins", () => {
  const { outcome, died } = decideOutcome(ended({
    end: { state: "DONE", exitCode: 0 },
    stage: "SAVING",
  }));
  assertEquals(died, false);
  assertEquals(outcome, {
    state: "DONE",
    exitCode: 0,
    stage: "SAVING",
    usage: USAGE,
    startedAt: 1000,
    endedAt: 2000,
  });
});

Deno.test("outcome: an end that raced a cancel still counts when the wrapper finished by itself", () => {
  const { outcome } = decideOutcome(ended({
    end: { state: "DONE", exitCode: 0 },
    cancelled: { reason: KillReason.USER, message: "kill", graceMs: 1 },
  }));
  assertEquals(outcome.state, "DONE");
});

Deno.test("outcome: a killed job is ERROR_E with the kill reason and the agent's message", () => {
  const { outcome, died } = decideOutcome(ended({
    end: { state: "ERROR_E", exitCode: 143, killReason: KillReason.TTL },
    cancelled: { reason: KillReason.TTL, message: "watchdog: TTL", graceMs: 1 },
  }));
  assertEquals(died, false);
  assertEquals(
    [outcome.state, outcome.exitCode, outcome.killReason, outcome.message],
    ["ERROR_E", 143, KillReason.TTL, "watchdog: TTL"],
  );
});

Deno.test("outcome: a preempted job goes back to WAITING, without a kill reason", () => {
  const { outcome } = decideOutcome(ended({
    cancelled: { reason: KillReason.PREEMPTED, message: "slot", graceMs: 1 },
    status: { success: false, code: 137, signal: "SIGKILL" },
  }));
  assertEquals(
    [outcome.state, outcome.exitCode, outcome.killReason],
    ["WAITING", 137, undefined],
  );
});

Deno.test("outcome: a wrapper that died says how, in which stage, and its last stderr words", () => {
  const { outcome, died } = decideOutcome(ended({
    stage: "STARTED",
    status: { success: false, code: 1, signal: null },
    errTail: "[wrapper] starting\n\x1b[31mbwrap: Can't mkdir /proc\x1b[0m\n",
  }));
  assertEquals(died, true);
  assertEquals(outcome.state, "ERROR_A");
  assertEquals(
    outcome.message,
    "wrapper died in stage STARTED without a final report (exit 1): bwrap: Can't mkdir /proc",
  );
});

Deno.test("outcome: a protocol violation is a death, named as such", () => {
  const { outcome, died } = decideOutcome(ended({
    protocolError: "expected a hello frame first, got 7",
    status: { success: false, code: 137, signal: "SIGKILL" },
  }));
  assert(died);
  assertEquals(outcome.state, "ERROR_E");
  assertEquals(outcome.exitCode, 137);
  assertEquals(
    outcome.message,
    "wrapper broke the protocol in stage RUNNING: expected a hello frame first, got 7",
  );
});

Deno.test("deathState: JAliEn's error for the stage a wrapper died in", () => {
  assertEquals(
    ["ASSIGNED", "STARTED", "RUNNING", "SAVING"].map(deathState),
    ["ERROR_A", "ERROR_A", "ERROR_E", "ERROR_SV"],
  );
});

Deno.test("exitCodeOf: 128 + signal for TERM and KILL, else the code", () => {
  assertEquals(exitCodeOf({ success: false, code: 1, signal: "SIGKILL" }), 137);
  assertEquals(exitCodeOf({ success: false, code: 1, signal: "SIGTERM" }), 143);
  assertEquals(exitCodeOf({ success: false, code: 3, signal: null }), 3);
});

Deno.test("lastLines: nothing for an empty or wrapper-only tail", () => {
  assertEquals(lastLines(""), "");
  assertEquals(lastLines("[wrapper 2026] hello\n"), "");
  assertEquals(lastLines("a\nb\nc\n"), ": b | c");
});

import { assert, assertEquals } from "@std/assert";
import type { CancelMessage } from "../protocol/mod.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import type { TreeSignal, WatchedTree } from "../watchdog/sampler.ts";
import { KillSequence, type KillSequenceOptions } from "./kill_sequence.ts";

/** Everything the sequence did, in order. */
type Event =
  | ["cancel", CancelMessage]
  | ["child", Deno.Signal]
  | ["tree", TreeSignal, boolean]
  | ["group", TreeSignal, number];

function fakes(
  opts: Partial<KillSequenceOptions> & { tree?: boolean } = {},
) {
  const events: Event[] = [];
  const logs: string[] = [];
  const child = {
    pid: 4242,
    kill: (s: Deno.Signal) => void events.push(["child", s]),
  };
  const tree: WatchedTree = {
    sample: () => Promise.reject(new Error("not sampled here")),
    signal: (sig, o) => {
      events.push(["tree", sig, o?.includeRoot ?? true]);
      return Promise.resolve(3);
    },
    release: () => Promise.resolve(),
  };
  const kills = new KillSequence({
    jobId: "7",
    child,
    groupKill: false,
    sendCancel: (c) => {
      events.push(["cancel", c]);
      return Promise.resolve();
    },
    cancelGraceMs: 20,
    termGraceMs: 20,
    log: (l) => logs.push(l),
    signalGroup: (sig, pgid) => {
      events.push(["group", sig, pgid]);
      return Promise.resolve();
    },
    ...opts,
  });
  if (opts.tree !== false) kills.tree = tree;
  return { kills, events, logs };
}

/** Resolves once `check` holds (no timing assertions: waits as long as needed). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

Deno.test("kill: cancel frame with the grace, then TERM (root spared), then KILL of everything", async () => {
  const { kills, events, logs } = fakes();
  kills.kill(KillReason.USER, "broker: killed by user");
  assertEquals(events[0], ["cancel", {
    reason: KillReason.USER,
    message: "broker: killed by user",
    graceMs: 20,
  }]);
  await until(() => events.length >= 4);
  kills.dispose();
  assertEquals(events.slice(1), [
    ["tree", "TERM", false],
    ["child", "SIGKILL"],
    ["tree", "KILL", true],
  ]);
  assertEquals(kills.cancelled?.reason, KillReason.USER);
  assert(logs.some((l) => l.includes("cancel (reason 30)")), logs.join("\n"));
  assert(logs.some((l) => l.includes("SIGKILL to 3 process(es)")));
});

Deno.test("kill: the first reason is the job's; later requests are ignored", () => {
  const { kills, events } = fakes({ cancelGraceMs: 60_000 });
  kills.kill(KillReason.TTL, "watchdog: TTL");
  kills.kill(KillReason.USER, "broker: killed by user");
  kills.stop({ reason: KillReason.PREEMPTED, message: "x", graceMs: 1 });
  kills.dispose();
  assertEquals(events.length, 1);
  assertEquals(kills.cancelled?.reason, KillReason.TTL);
});

Deno.test("stop: a preemption's budget gives TERM at 60% and KILL at 80%", () => {
  const { kills, events } = fakes();
  kills.stop({
    reason: KillReason.PREEMPTED,
    message: "slot ends",
    graceMs: 10_000,
  });
  kills.dispose(); // nothing else may happen after dispose
  assertEquals(events, [["cancel", {
    reason: KillReason.PREEMPTED,
    message: "slot ends",
    graceMs: 6000,
  }]]);
  assertEquals(kills.cancelled?.graceMs, 10_000);
});

Deno.test("stop: without a request it is a preemption with the configured graces", () => {
  const { kills } = fakes({ cancelGraceMs: 1000, termGraceMs: 500 });
  kills.stop(undefined);
  kills.dispose();
  assertEquals(kills.cancelled, {
    reason: KillReason.PREEMPTED,
    message: "slot preempted",
    graceMs: 1500,
  });
});

Deno.test("stopTree: with no watched tree a group kill signals the wrapper's process group", async () => {
  const { kills, events } = fakes({ tree: false, groupKill: true });
  await kills.stopTree("TERM");
  await kills.stopTree("KILL");
  assertEquals(events, [
    ["group", "TERM", 4242],
    ["child", "SIGKILL"],
    ["group", "KILL", 4242],
  ]);
});

Deno.test("stopTree: a group kill includes the root already at TERM (no pid namespace)", async () => {
  const { kills, events } = fakes({ groupKill: true });
  await kills.stopTree("TERM");
  assertEquals(events, [["tree", "TERM", true]]);
});

Deno.test("stopTree: a failing tree signal is logged, not thrown; a dead child is fine", async () => {
  const { kills, logs } = fakes({
    child: {
      pid: 1,
      kill: () => {
        throw new Deno.errors.NotFound("gone");
      },
    },
  });
  kills.tree = {
    sample: () => Promise.reject(new Error("no")),
    signal: () => Promise.reject(new Error("helper crashed")),
    release: () => Promise.resolve(),
  };
  await kills.stopTree("KILL");
  assert(logs.some((l) => l.includes("SIGKILL failed: helper crashed")));
});

import { assert, assertEquals } from "@std/assert";
import { BrokerError } from "../client/broker_client.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { HeartbeatLoop, type HeartbeatOptions } from "./heartbeat_loop.ts";

const USAGE = { cpuSeconds: 1, rssBytes: 2, wallSeconds: 3, diskBytes: 4 };

/** A fake BrokerClient: answers from `answer`, records the requests. */
function fakeBroker(answer: () => Promise<unknown>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  return {
    calls,
    broker: {
      json: <T>(method: string, path: string, body?: unknown) => {
        calls.push({ method, path, body });
        return answer() as Promise<T>;
      },
    } as HeartbeatOptions["broker"],
  };
}

function loop(
  answer: () => Promise<unknown>,
  opts: Partial<HeartbeatOptions> = {},
) {
  const { broker, calls } = fakeBroker(answer);
  const kills: [number, string][] = [];
  const logs: string[] = [];
  const hb = new HeartbeatLoop({
    broker,
    jobId: "9",
    intervalMs: 60_000,
    usage: () => USAGE,
    finalSeen: () => false,
    onKill: (r, m) => void kills.push([r, m]),
    log: (l) => void logs.push(l),
    ...opts,
  });
  return { hb, calls, kills, logs };
}

function refused(status: number): BrokerError {
  return new BrokerError(status, "final", "job 9 is DONE");
}

Deno.test("heartbeat: posts the usage to the job's heartbeat endpoint", async () => {
  const { hb, calls, kills } = loop(() =>
    Promise.resolve({ state: "RUNNING" })
  );
  await hb.beat();
  assertEquals(calls, [{
    method: "POST",
    path: "/api/v1/jobs/9/heartbeat",
    body: { usage: USAGE },
  }]);
  assertEquals(kills, []);
});

Deno.test("heartbeat: a kill in the answer stops the job with the broker's words", async () => {
  const { hb, kills } = loop(() =>
    Promise.resolve({
      kill: { reason: 30, message: "killed by user alice (kill reason 30)" },
    })
  );
  await hb.beat();
  assertEquals(kills, [[30, "broker: killed by user alice"]]);
});

Deno.test("heartbeat: 403/409 mean the broker gave the job up: preempt it", async () => {
  for (const status of [403, 409]) {
    const { hb, kills } = loop(() => Promise.reject(refused(status)));
    await hb.beat();
    assertEquals(kills.length, 1, `status ${status}`);
    assertEquals(kills[0][0], KillReason.PREEMPTED);
    assert(kills[0][1].includes("no longer has this job"), kills[0][1]);
  }
});

Deno.test("heartbeat: once the wrapper said final, a refusal is expected: no kill, no log", async () => {
  const { hb, kills, logs } = loop(() => Promise.reject(refused(409)), {
    finalSeen: () => true,
  });
  await hb.beat();
  assertEquals(kills, []);
  assertEquals(logs, []);
});

Deno.test("heartbeat: other failures are logged and the job runs on", async () => {
  const { hb, kills, logs } = loop(() =>
    Promise.reject(new BrokerError(0, "unreachable", "connection refused"))
  );
  await hb.beat();
  assertEquals(kills, []);
  assertEquals(logs.length, 1);
  assert(logs[0].includes("heartbeat failed: connection refused"), logs[0]);
});

Deno.test("heartbeat: after end() nothing is left to stop", async () => {
  const { hb, kills, logs } = loop(() =>
    Promise.resolve({ kill: { reason: 30, message: "x" } })
  );
  hb.end();
  await hb.beat();
  const other = loop(() => Promise.reject(refused(409)));
  other.hb.end();
  await other.hb.beat();
  assertEquals([kills, logs, other.kills, other.logs], [[], [], [], []]);
});

Deno.test("heartbeat: at most one in flight; concurrent beats share it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const { hb, calls } = loop(() => gate.then(() => ({})));
  const a = hb.beat();
  const b = hb.beat();
  assert(hb.pending !== undefined);
  release();
  await Promise.all([a, b]);
  assertEquals(calls.length, 1);
  assertEquals(hb.pending, undefined);
});

Deno.test("heartbeat: start() beats on the interval until stop()", async () => {
  let n = 0;
  const { hb } = loop(() => Promise.resolve(n++), { intervalMs: 1 });
  hb.start();
  while (n < 2) await new Promise((r) => setTimeout(r, 5));
  hb.stop();
  await hb.pending;
  const after = n;
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(n, after);
});

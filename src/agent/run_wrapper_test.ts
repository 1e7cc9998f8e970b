/**
 * runWrapper with fakes around it: a fake BrokerClient (an in-memory job)
 * and a fake wrapper child (a tiny script speaking the pipe protocol, so
 * the spawn, the frames and the kill sequence are the real ones).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { BrokerClient } from "../client/broker_client.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { FrameType } from "../pipe/mod.ts";
import type { MatchedJob, StopRequest } from "./matched_job.ts";
import { runWrapper, type RunWrapperOptions } from "./run_wrapper.ts";

const PIPE = new URL("../pipe/mod.ts", import.meta.url).href;

/**
 * A fake wrapper: says hello, waits for `start`, then runs `body` (which may use `say(type,
 * value)` and `FrameType`), then exits with `exit`.
 */
function fakeWrapper(body: string, exit = 0): string[] {
  const code = `
    import { encodeJsonFrame, FrameType, PROTOCOL_VERSION } from "${PIPE}";
    const w = Deno.stdout.writable.getWriter();
    const say = (t, v) => w.write(encodeJsonFrame(t, v));
    await say(FrameType.Hello, { version: PROTOCOL_VERSION });
    // Like a real wrapper: nothing happens before the start frame.
    await Deno.stdin.readable.getReader().read();
    ${body}
    await w.close().catch(() => {});
    Deno.exit(${exit});
  `;
  return [Deno.execPath(), "eval", "--no-prompt", code];
}

/** A fake BrokerClient holding one job. */
function fakeBroker(opts: { killOnHeartbeat?: boolean } = {}) {
  const job = { state: "ASSIGNED", resubmissions: 0 };
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const client = {
    json: <T>(method: string, path: string, body?: unknown) => {
      calls.push({ method, path, body });
      if (method === "GET") return Promise.resolve({ ...job } as T);
      if (path.endsWith("/status")) {
        job.state = (body as { state: string }).state;
        return Promise.resolve({ state: job.state } as T);
      }
      if (path.endsWith("/heartbeat") && opts.killOnHeartbeat) {
        return Promise.resolve(
          {
            kill: { reason: 30, message: "killed by user (kill reason 30)" },
          } as T,
        );
      }
      return Promise.resolve({} as T);
    },
  } as unknown as BrokerClient;
  return { client, job, calls };
}

const JOB: MatchedJob = {
  jobId: "11",
  jdl: 'Executable = "/bin/true";',
  user: "alice",
  ttl: 60,
  resubmission: 0,
  token: { certPem: "c", keyPem: "k", caPem: "a" },
};

async function run(
  argv: string[],
  over: Partial<RunWrapperOptions> = {},
  broker = fakeBroker(),
) {
  const sandbox = await Deno.makeTempDir({ prefix: "splitpilot-rw-unit-" });
  const logs: string[] = [];
  const outcome = await runWrapper({
    job: JOB,
    launch: {
      argv,
      spec: {
        argv: [],
        sandbox,
        binds: [],
        env: { NO_COLOR: "1", PATH: "/usr/bin:/bin" },
        network: "host",
      },
      denoFlags: [],
    },
    sandbox,
    broker: broker.client,
    brokerUrl: "https://127.0.0.1:1",
    siteMap: {},
    groupKill: true,
    killCheckSeconds: 0,
    cancelGraceMs: 200,
    termGraceMs: 200,
    log: (l) => logs.push(l),
    ...over,
  });
  const left = await Deno.stat(sandbox).then(() => true, () => false);
  return { outcome, logs, broker, left };
}

Deno.test("runWrapper: an honest wrapper's end is the outcome; its log goes to the broker; the sandbox goes", async () => {
  const { outcome, broker, left, logs } = await run(fakeWrapper(`
    await say(FrameType.Status, { state: "RUNNING" });
    await say(FrameType.Log, { stream: "stdout", lines: ["hello \\x1b[31m"] });
    await say(FrameType.Status, { state: "DONE" });
    await say(FrameType.End, { state: "DONE", exitCode: 0 });
  `));
  assertEquals(outcome.state, "DONE", logs.join("\n"));
  assertEquals(outcome.stage, "DONE");
  assert(outcome.usage !== undefined);
  assertEquals(left, false);
  const log = broker.calls.find((c) => c.path === "/api/v1/jobs/11/log");
  assertEquals(
    (log?.body as { lines: unknown[] }).lines,
    [{ stream: "stdout", text: "hello \\x1b[31m" }],
  );
  assert(
    logs.some((l) => l === "job 11 stdout: hello \\x1b[31m"),
    logs.join("\n"),
  );
});

Deno.test("runWrapper: a wrapper that dies mid-job is reported by its stage, with its last stderr line", async () => {
  const broker = fakeBroker();
  broker.job.state = "RUNNING";
  const { outcome } = await run(
    fakeWrapper(
      `
      await say(FrameType.Status, { state: "RUNNING" });
      console.error("payload launcher exploded");
    `,
      3,
    ),
    {},
    broker,
  );
  assertEquals(outcome.state, "ERROR_E");
  assertEquals(outcome.exitCode, 3);
  assertStringIncludes(
    outcome.message!,
    "wrapper died in stage RUNNING without a final report (exit 3): payload launcher exploded",
  );
  assertEquals(broker.job.state, "ERROR_E");
});

Deno.test("runWrapper: a wrapper that cannot be spawned is ERROR_A, exit 127, reported", async () => {
  const broker = fakeBroker();
  const { outcome, left } = await run(
    ["/nonexistent/splitpilot-wrapper"],
    {},
    broker,
  );
  assertEquals([outcome.state, outcome.exitCode], ["ERROR_A", 127]);
  assertStringIncludes(outcome.message!, "could not start the wrapper");
  assertEquals(broker.job.state, "ERROR_A");
  assertEquals(left, false);
});

Deno.test("runWrapper: preemption (abort) hands the job back as WAITING through the kill sequence", async () => {
  const ac = new AbortController();
  const broker = fakeBroker();
  broker.job.state = "RUNNING";
  const stop: StopRequest = {
    reason: KillReason.PREEMPTED,
    message: "slot ends",
    graceMs: 400,
  };
  const { outcome, logs } = await run(
    fakeWrapper(`
      await say(FrameType.Status, { state: "RUNNING" });
      await new Promise(() => setInterval(() => {}, 1000)); // ignores cancel
    `),
    {
      signal: ac.signal,
      // Preempted once the job runs.
      onFrame: (f) => f.type === FrameType.Status && ac.abort(stop),
    },
    broker,
  );
  assertEquals(outcome.state, "WAITING", logs.join("\n"));
  assertEquals(outcome.killReason, undefined);
  assertEquals(outcome.message, "slot ends");
  assert(logs.some((l) => l.includes("cancel (reason 90)")), logs.join("\n"));
  assertEquals(broker.job.state, "WAITING");
});

Deno.test("runWrapper: a kill in the heartbeat's answer ends the job ERROR_E with the user's kill reason", async () => {
  const broker = fakeBroker({ killOnHeartbeat: true });
  broker.job.state = "RUNNING";
  const { outcome, logs } = await run(
    fakeWrapper(`
      await say(FrameType.Status, { state: "RUNNING" });
      await new Promise(() => setInterval(() => {}, 1000));
    `),
    { heartbeatSeconds: 0.05 },
    broker,
  );
  assertEquals(outcome.state, "ERROR_E", logs.join("\n"));
  assertEquals(outcome.killReason, 30);
  assertEquals(outcome.message, "broker: killed by user");
  assertEquals(broker.job.state, "ERROR_E");
});

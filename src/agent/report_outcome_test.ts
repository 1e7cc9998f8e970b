import { assertEquals } from "@std/assert";
import { type BrokerClient, BrokerError } from "../client/broker_client.ts";
import { ReportOutbox } from "./report_outbox.ts";
import { deathState, reportOutcome } from "./report_outcome.ts";
import type { OutboxEntry } from "./report_outbox.ts";
import { canTransition, type JobState } from "../protocol/job_state.ts";

/** A broker stand-in (unit test of this module only): a job and a script of failures. */
function fakeBroker(
  job: { state: string; resubmissions: number },
  downFor = 0,
) {
  const posts: Record<string, unknown>[] = [];
  let calls = 0;
  const broker = {
    json(method: string, path: string, body?: Record<string, unknown>) {
      if (calls++ < downFor) {
        return Promise.reject(new BrokerError(0, "unreachable", "down"));
      }
      if (method === "GET") return Promise.resolve({ ...job });
      if (path.endsWith("/batch")) {
        // The agent's one-request final report: the broker's rules for the
        // status step (the same attempt; the same state, or a legal move).
        const steps = body!.steps as { op: string; body: typeof body }[];
        const status = steps.find((s) => s.op === "status")!.body!;
        const to = status.state as JobState;
        if (
          status.attempt !== job.resubmissions ||
          (job.state !== to && !canTransition(job.state as JobState, to))
        ) {
          return Promise.reject(new BrokerError(409, "refused", "refused"));
        }
        body = status;
      }
      posts.push(body!);
      job.state = body!.state as string;
      return Promise.resolve({ state: job.state });
    },
  } as unknown as BrokerClient;
  return { broker, posts };
}

const entry = (state: string, stage: string, death = false): OutboxEntry => ({
  jobId: "7",
  attempt: 2,
  death,
  outcome: {
    state,
    exitCode: 0,
    stage,
    startedAt: 0,
    endedAt: 1,
    usage: { cpuSeconds: 1, rssBytes: 1, wallSeconds: 1, diskBytes: 0 },
  },
});

const quick = { firstDelayMs: 1, maxDelayMs: 1 };

Deno.test("reportOutcome resends through an outage and clears the outbox", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const outbox = new ReportOutbox(dir);
    const { broker, posts } = fakeBroker(
      { state: "SAVING", resubmissions: 2 },
      4,
    );
    const s = await reportOutcome(
      { broker, outbox, log: () => {}, resend: quick },
      entry("DONE", "SAVING"),
    );
    assertEquals(s, "DONE");
    assertEquals(posts.map((p) => [p.state, p.attempt]), [["DONE", 2]]);
    assertEquals(await outbox.list(() => {}), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reportOutcome fills a DONE the broker saw only RUNNING through SAVING", async () => {
  const { broker, posts } = fakeBroker({ state: "RUNNING", resubmissions: 2 });
  await reportOutcome(
    { broker, log: () => {}, resend: quick },
    entry("DONE", "SAVING"),
  );
  assertEquals(posts.map((p) => p.state), ["SAVING", "DONE"]);
});

Deno.test("reportOutcome leaves another attempt alone", async () => {
  const { broker, posts } = fakeBroker({ state: "RUNNING", resubmissions: 3 });
  const s = await reportOutcome(
    { broker, log: () => {}, resend: quick },
    entry("ERROR_E", "RUNNING"),
  );
  assertEquals([s, posts], ["RUNNING", []]);
});

Deno.test("reportOutcome adds the agent's usage to a state the wrapper reported", async () => {
  const { broker, posts } = fakeBroker({ state: "DONE", resubmissions: 2 });
  await reportOutcome(
    { broker, log: () => {}, resend: quick },
    entry("DONE", "SAVING"),
  );
  assertEquals(
    posts.map((p) => [p.state, (p.usage as { cpuSeconds: number }).cpuSeconds]),
    [["DONE", 1]],
  );
});

Deno.test("reportOutcome maps a death to the stage the broker knows", async () => {
  const { broker, posts } = fakeBroker({ state: "STARTED", resubmissions: 2 });
  await reportOutcome(
    { broker, log: () => {}, resend: quick },
    entry("ERROR_E", "RUNNING", true),
  );
  assertEquals(posts.map((p) => p.state), ["ERROR_A"]);
  assertEquals(
    ["ASSIGNED", "STARTED", "RUNNING", "SAVING"].map(deathState),
    ["ERROR_A", "ERROR_A", "ERROR_E", "ERROR_SV"],
  );
});

Deno.test("reportOutcome: a final state the broker can take costs one request, with the live log's tail", async () => {
  const calls: string[] = [];
  const job = { state: "DONE", resubmissions: 2 };
  const { broker: inner, posts } = fakeBroker(job);
  const broker = {
    json(method: string, path: string, body?: Record<string, unknown>) {
      calls.push(`${method} ${path}`);
      return inner.json(method, path, body);
    },
  } as unknown as BrokerClient;
  const s = await reportOutcome(
    { broker, log: () => {}, resend: quick },
    entry("DONE", "SAVING"),
    [{ stream: "wrapper", text: "bye" }],
  );
  assertEquals([s, calls], ["DONE", ["POST /api/v1/jobs/7/batch"]]);
  assertEquals(posts.map((p) => p.state), ["DONE"]);
});

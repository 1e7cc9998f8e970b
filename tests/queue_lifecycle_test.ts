/**
 * Job lifecycle over real mutual-TLS HTTPS: legal and illegal transitions,
 * the trace, automatic resubmission with fresh job tokens, preemption,
 * kill via heartbeat, the sweeper (ZOMBIE, EXPIRED) and usage accounting.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
} from "@std/assert";
import {
  BrokerClient,
  BrokerError,
  type TokenPem,
} from "../src/client/broker_client.ts";
import { type Grid, startGrid } from "./_grid.ts";

interface Matched {
  jobId: string;
  resubmission: number;
  token: TokenPem;
}

interface Job {
  id: string;
  state: string;
  resubmissions: number;
  exitCode: number | null;
  killReason: number | null;
  agent: string | null;
  usage: Record<string, number> | null;
}

interface Trace {
  job: Job;
  trace: { at: string; state: string; actor: string; reason: string }[];
}

const JDL = 'Executable = "/bin/true";';

/** Status of a call: 2xx as 200, else the broker's status. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof BrokerError) return e.status;
    throw e;
  }
}

class Actors {
  #clients: BrokerClient[] = [];
  constructor(readonly grid: Grid) {}
  async agent(name = "agent"): Promise<BrokerClient> {
    const dir = name === "agent" ? this.grid.agentTokenDir : await this.grid
      .token(name, { role: "JOB_AGENT", subject: name, ttlSeconds: 3600 });
    return await this.grid.client(dir);
  }
  job(m: Matched): BrokerClient {
    const c = new BrokerClient(this.grid.url, m.token, { retries: 1 });
    this.#clients.push(c);
    return c;
  }
  close() {
    for (const c of this.#clients) c.close();
  }
}

async function match(agent: BrokerClient): Promise<Matched | undefined> {
  return await agent.json<Matched>("POST", "/api/v1/match", {
    ttl: 86400,
    cpuCores: 4,
    site: "local",
  });
}

function job(grid: Grid, id: string): Promise<Job> {
  return grid.user.json<Job>("GET", `/api/v1/jobs/${id}`) as Promise<Job>;
}

function trace(grid: Grid, id: string): Promise<Trace> {
  return grid.user.json<Trace>("GET", `/api/v1/jobs/${id}/trace`) as Promise<
    Trace
  >;
}

function report(c: BrokerClient, id: string, body: Record<string, unknown>) {
  return c.json("POST", `/api/v1/jobs/${id}/status`, body);
}

Deno.test("lifecycle: legal path traced with time, actor and reason; illegal moves are 409", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const a = new Actors(grid);
  try {
    const id = await grid.submit(JDL);
    const agent = await a.agent();
    const m = (await match(agent))!;
    assertEquals(m.jobId, id);
    const w = a.job(m);
    // ASSIGNED → RUNNING skips STARTED.
    assertEquals(await statusOf(report(w, id, { state: "RUNNING" })), 409);
    for (const s of ["KILLED", "ZOMBIE", "EXPIRED"]) {
      assertEquals(await statusOf(report(w, id, { state: s })), 409, s);
    }
    assertEquals(await statusOf(report(w, id, { state: "NOPE" })), 400);
    await report(w, id, { state: "STARTED", message: "wrapper up" });
    assertEquals(await statusOf(report(w, id, { state: "DONE" })), 409);
    await report(w, id, { state: "RUNNING" });
    await report(w, id, { state: "SAVING" });
    await report(w, id, {
      state: "DONE",
      exitCode: 0,
      usage: { cpuSeconds: 1.5, rssBytes: 10, wallSeconds: 2, diskBytes: 3 },
    });
    // Final: the job token is dead, and nothing moves any more.
    assertEquals(await statusOf(w.json("GET", `/api/v1/jobs/${id}`)), 401);
    assertEquals(
      await statusOf(grid.user.json("POST", `/api/v1/jobs/${id}/kill`, {})),
      409,
    );
    const t = await trace(grid, id);
    assertEquals(t.trace.map((e) => e.state), [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "RUNNING",
      "SAVING",
      "DONE",
    ]);
    assertEquals(t.trace[0].actor, "USER:jdoe");
    assertEquals(t.trace[1].actor, "JOB_AGENT:test-site");
    assertEquals(t.trace[2].actor, "JOB:jdoe");
    assertEquals(t.trace[2].reason, "wrapper up");
    for (const e of t.trace) {
      assertMatch(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert(e.reason.length > 0);
    }
    assertEquals([t.job.exitCode, t.job.usage?.cpuSeconds], [0, 1.5]);
  } finally {
    a.close();
    await grid.close();
  }
});

Deno.test("lifecycle: ERROR_IB goes back to WAITING with a fresh job token; the old token is refused", async () => {
  const grid = await startGrid({
    sweepIntervalSeconds: 0,
    maxResubmissions: 1,
  });
  const a = new Actors(grid);
  try {
    const id = await grid.submit(JDL);
    const agent = await a.agent();
    const first = (await match(agent))!;
    const w1 = a.job(first);
    await report(w1, id, { state: "STARTED" });
    const r = await report(w1, id, {
      state: "ERROR_IB",
      message: "input download failed",
    });
    assertEquals(r, { jobId: id, state: "WAITING" });
    assertEquals(await statusOf(w1.json("GET", `/api/v1/jobs/${id}`)), 401);
    const second = (await match(agent))!;
    assertEquals([second.jobId, second.resubmission], [id, 1]);
    assertNotEquals(second.token.certPem, first.token.certPem);
    const w2 = a.job(second);
    assertEquals(
      (await w2.json<Job>("GET", `/api/v1/jobs/${id}`))?.state,
      "ASSIGNED",
    );
    // Still refused after the new attempt started.
    assertEquals(await statusOf(report(w1, id, { state: "STARTED" })), 401);
    await report(w2, id, { state: "STARTED" });
    // The limit (1) is reached: this failure is final.
    assertEquals(
      await report(w2, id, { state: "ERROR_IB" }),
      { jobId: id, state: "ERROR_IB" },
    );
    const t = await trace(grid, id);
    assertEquals(t.trace.map((e) => e.state), [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "ERROR_IB",
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "ERROR_IB",
    ]);
    assertEquals(t.trace[4].actor, "broker");
    assertEquals(
      t.trace[4].reason,
      "automatic resubmission 1/1 after ERROR_IB",
    );
    // A user may still resubmit it by hand.
    assertEquals(
      await grid.user.json("POST", `/api/v1/jobs/${id}/resubmit`, {}),
      { jobId: id, state: "WAITING" },
    );
  } finally {
    a.close();
    await grid.close();
  }
});

Deno.test("lifecycle: a preempted job (agent reports WAITING) is requeued up to the limit", async () => {
  const grid = await startGrid({
    sweepIntervalSeconds: 0,
    maxResubmissions: 2,
  });
  const a = new Actors(grid);
  try {
    const id = await grid.submit(JDL);
    const agent = await a.agent();
    for (let i = 0; i < 2; i++) {
      const m = (await match(agent))!;
      await report(a.job(m), id, { state: "STARTED" });
      assertEquals(
        await report(agent, id, {
          state: "WAITING",
          killReason: 90,
          message: "slot preempted",
        }),
        { jobId: id, state: "WAITING" },
      );
      assertEquals(
        await statusOf(a.job(m).json("GET", `/api/v1/jobs/${id}`)),
        401,
      );
    }
    const m = (await match(agent))!;
    await report(a.job(m), id, { state: "STARTED" });
    const r = await report(agent, id, {
      state: "WAITING",
      message: "slot preempted",
    });
    assertEquals(r, { jobId: id, state: "ERROR_E" });
    const last = (await trace(grid, id)).trace.at(-1)!;
    assertEquals(last.state, "ERROR_E");
    assert(last.reason.includes("limit 2"), last.reason);
  } finally {
    a.close();
    await grid.close();
  }
});

Deno.test("lifecycle: kill stops a waiting job and tells a running one's agent at its heartbeat", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const a = new Actors(grid);
  try {
    const running = await grid.submit(JDL);
    const waiting = await grid.submit(JDL);
    const agent = await a.agent();
    const m = (await match(agent))!;
    assertEquals(m.jobId, running);
    const w = a.job(m);
    await report(w, running, { state: "STARTED" });
    await grid.user.json("POST", `/api/v1/jobs/${waiting}/kill`, {});
    assertEquals(await match(agent), undefined, "a killed job never starts");
    assertEquals(
      await grid.user.json("POST", `/api/v1/jobs/${running}/kill`, {}),
      { jobId: running, state: "KILLED" },
    );
    const hb = await agent.json<{ kill?: { reason: number; message: string } }>(
      "POST",
      `/api/v1/jobs/${running}/heartbeat`,
      {},
    );
    assertEquals(hb?.kill?.reason, 30);
    assert(hb?.kill?.message.includes("jdoe"), hb?.kill?.message);
    assertEquals(await statusOf(w.json("GET", `/api/v1/jobs/${running}`)), 401);
    // The agent's late report does not undo the kill.
    assertEquals(
      await statusOf(report(agent, running, { state: "ERROR_E" })),
      409,
    );
    const j = await job(grid, running);
    assertEquals([j.state, j.killReason], ["KILLED", 30]);
    assertEquals(
      await statusOf(
        grid.user.json("POST", `/api/v1/jobs/${running}/kill`, {}),
      ),
      409,
    );
    // As in JAliEn, its user may resubmit a killed job: a new attempt
    // (with a new job token at the next match).
    assertEquals(
      (await grid.user.json<{ state: string }>(
        "POST",
        `/api/v1/jobs/${running}/resubmit`,
        {},
      ))?.state,
      "WAITING",
    );
  } finally {
    a.close();
    await grid.close();
  }
});

Deno.test("lifecycle: heartbeats store usage; a silent job turns ZOMBIE and is requeued by the sweeper", async () => {
  const grid = await startGrid({
    sweepIntervalSeconds: 0.25,
    zombieAfterSeconds: 1,
  });
  const a = new Actors(grid);
  try {
    const id = await grid.submit(JDL);
    const agent = await a.agent();
    const m = (await match(agent))!;
    await report(a.job(m), id, { state: "STARTED" });
    for (let i = 0; i < 4; i++) {
      await agent.json("POST", `/api/v1/jobs/${id}/heartbeat`, {
        usage: {
          cpuSeconds: i,
          rssBytes: 1000,
          maxRssBytes: 2000,
          wallSeconds: i * 2,
          diskBytes: 5,
        },
      });
      await new Promise((r) => setTimeout(r, 400));
    }
    // Beating every 0.4 s, it stayed alive past the 1 s limit.
    let j = await job(grid, id);
    assertEquals(j.state, "STARTED");
    assertEquals(j.usage?.cpuSeconds, 3);
    assertEquals(j.usage?.maxRssBytes, 2000);
    const deadline = Date.now() + 10_000;
    while ((j = await job(grid, id)).state !== "WAITING") {
      assert(Date.now() < deadline, `still ${j.state} after 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(j.resubmissions, 1);
    const t = (await trace(grid, id)).trace;
    assertEquals(t.slice(-2).map((e) => [e.state, e.actor]), [
      ["ZOMBIE", "broker"],
      ["WAITING", "broker"],
    ]);
    assertMatch(t.at(-2)!.reason, /^no heartbeat for \d+ s \(limit 1 s\)/);
    // The old agent's heartbeat is refused: the job is not its any more.
    assertEquals(
      await statusOf(agent.json("POST", `/api/v1/jobs/${id}/heartbeat`, {})),
      403,
    );
  } finally {
    a.close();
    await grid.close();
  }
});

Deno.test("lifecycle: a job waiting beyond MaxWaitingTime (or the broker default) expires", async () => {
  const grid = await startGrid({
    sweepIntervalSeconds: 0.25,
    maxWaitingSeconds: 3600,
  });
  try {
    const short = await grid.submit(`${JDL} MaxWaitingTime = 1;`);
    const long = await grid.submit(JDL);
    const deadline = Date.now() + 10_000;
    let j;
    while ((j = await job(grid, short)).state !== "EXPIRED") {
      assert(Date.now() < deadline, `still ${j.state} after 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals((await job(grid, long)).state, "WAITING");
    const last = (await trace(grid, short)).trace.at(-1)!;
    assertEquals([last.state, last.actor], ["EXPIRED", "broker"]);
    // EXPIRED can be resubmitted by its owner.
    assertEquals(
      await grid.user.json("POST", `/api/v1/jobs/${short}/resubmit`, {}),
      { jobId: short, state: "WAITING" },
    );
  } finally {
    await grid.close();
  }
});

Deno.test("fair share over HTTPS: users are served round robin; the quota holds", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0, userQuota: 2 });
  try {
    const other = await grid.client(
      await grid.token("alice", {
        role: "USER",
        subject: "alice",
        ttlSeconds: 600,
      }),
    );
    for (let i = 0; i < 4; i++) await grid.submit(JDL);
    for (let i = 0; i < 4; i++) {
      await other.request("POST", "/api/v1/jobs", { body: JDL });
    }
    const agent = await grid.client(grid.agentTokenDir);
    const owners: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await agent.json<{ user: string }>("POST", "/api/v1/match", {
        ttl: 86400,
      });
      owners.push(m?.user ?? "-");
    }
    assertEquals(owners.slice(0, 4).sort(), ["alice", "alice", "jdoe", "jdoe"]);
    assertNotEquals(owners[0], owners[1]);
    assertEquals(owners[4], "-", "both users are at their quota of 2");
  } finally {
    await grid.close();
  }
});

/**
 * Durability: the broker process is SIGKILLed in the middle of 500
 * concurrent submissions (and of concurrent matches), then restarted on the
 * same state dir. Every submission that got a job ID back exists, every
 * match that got an answer is recorded for that agent, and no job is ever
 * handed to two agents, before or after the crash.
 */
import { assert, assertEquals } from "@std/assert";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import {
  type BrokerProcess,
  startBrokerProcess,
} from "../src/launch/role_process.ts";
import { startGrid } from "./_grid.ts";

const SUBMISSIONS = 500;
const IN_FLIGHT = 50;
const KILL_AFTER = 150;
const QUEUED_BEFORE = 60;

Deno.test("crash: SIGKILL during 500 concurrent submissions loses no acknowledged job and hands none twice", async () => {
  const grid = await startGrid({ process: true });
  let restarted: BrokerProcess | undefined;
  const clients: BrokerClient[] = [];
  try {
    const userToken = await readTokenDir(grid.userTokenDir);
    const agentNames = ["site-a", "site-b", "site-c"];
    const agentTokens = await Promise.all(
      agentNames.map(async (name) =>
        await readTokenDir(
          await grid.token(name, {
            role: "JOB_AGENT",
            subject: name,
            ttlSeconds: 600,
          }),
        )
      ),
    );
    const connect = (url: string) => {
      const user = new BrokerClient(url, userToken, { retries: 1 });
      const agents = agentTokens.map((t) =>
        new BrokerClient(url, t, { retries: 1 })
      );
      clients.push(user, ...agents);
      return { user, agents };
    };
    const before = connect(grid.url);
    const acknowledged: string[] = [];
    const handed = new Map<string, string[]>();
    const record = (id: string, agent: string) =>
      handed.set(id, [...(handed.get(id) ?? []), agent]);
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      grid.brokerProcess!.child.kill("SIGKILL");
    };
    const submit = async (i: number) => {
      const res = await before.user.request("POST", "/api/v1/jobs", {
        body: `Executable = "/bin/true"; Arguments = "${i}";`,
        retry: false,
      });
      return (await res.json()).jobId as string;
    };
    // Jobs for the agents to take while the submissions run.
    for (let i = 0; i < QUEUED_BEFORE; i++) acknowledged.push(await submit(i));
    let next = 0;
    const submissions = Array.from({ length: IN_FLIGHT }, async () => {
      while (next < SUBMISSIONS) {
        const i = QUEUED_BEFORE + next++;
        try {
          acknowledged.push(await submit(i));
        } catch {
          continue; // the broker died under it: no ID, no promise
        }
        if (acknowledged.length >= QUEUED_BEFORE + KILL_AFTER) kill();
      }
    });
    let stop = false;
    const matching = before.agents.map(async (agent, k) => {
      while (!stop && !killed) {
        try {
          const m = await agent.json<{ jobId: string }>(
            "POST",
            "/api/v1/match",
            { ttl: 86400 },
          );
          if (m) record(m.jobId, agentNames[k]);
          else await new Promise((r) => setTimeout(r, 5));
        } catch {
          return;
        }
      }
    });
    await Promise.all(submissions);
    stop = true;
    await Promise.all(matching);
    assert(killed, `the broker was never killed (${acknowledged.length} acks)`);
    const status = await grid.brokerProcess!.child.status;
    assertEquals(status.signal, "SIGKILL");
    assert(
      acknowledged.length < QUEUED_BEFORE + SUBMISSIONS,
      "killed in the middle",
    );
    assert(handed.size > 0, "agents matched before the crash");

    const port = Number(new URL(grid.url).port);
    restarted = await startBrokerProcess({ stateDir: grid.stateDir, port });
    const after = connect(restarted.url);
    for (const id of acknowledged) {
      const job = await after.user.json<{ state: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assert(job, `job ${id} was acknowledged but is gone`);
    }
    // What an agent got before the crash is on record as its job.
    for (const [id, [agent]] of handed) {
      const job = await after.user.json<{ state: string; agent: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals([job?.state, job?.agent], ["ASSIGNED", agent], `job ${id}`);
    }
    const handedBefore = handed.size;
    await Promise.all(after.agents.map(async (agent, k) => {
      while (true) {
        const m = await agent.json<{ jobId: string }>("POST", "/api/v1/match", {
          ttl: 86400,
        });
        if (!m) return;
        record(m.jobId, agentNames[k]);
      }
    }));
    const twice = [...handed].filter(([, who]) => who.length > 1);
    assertEquals(twice, [], "no job went to two agents");
    const { jobs } = (await after.user.json<
      { jobs: { id: string; state: string; agent: string | null }[] }
    >("GET", "/api/v1/jobs?limit=10000"))!;
    assert(jobs.length >= acknowledged.length);
    // Every stored job went to exactly one agent: to the one that got the
    // answer, or (a claim committed as the broker died, its answer lost)
    // to one that never heard of it, which the sweeper will requeue.
    const unanswered = jobs.filter((j) => !handed.has(j.id));
    for (const j of unanswered) {
      assertEquals(j.state, "ASSIGNED", `job ${j.id} was never handed out`);
      assert(agentNames.includes(j.agent ?? ""), `job ${j.id}: ${j.agent}`);
    }
    assert(unanswered.length <= agentNames.length, "one lost answer per agent");
    console.log(
      `acknowledged ${
        acknowledged.length - QUEUED_BEFORE
      }/${SUBMISSIONS}, stored ${jobs.length}, matched ${handedBefore} before and ${
        handed.size - handedBefore
      } after the crash, ${unanswered.length} claim answer(s) lost in the crash`,
    );
  } finally {
    for (const c of clients) c.close();
    await restarted?.stop();
    await grid.close();
  }
});

/**
 * Idempotent retries: the broker is SIGKILLed after a submit (then a
 * match) committed and before the answer went out. The client's retry,
 * carrying the same idempotency key, reaches the restarted broker and
 * gets the same job: no duplicate job, and no job left ASSIGNED to an
 * agent that never heard of it.
 */
import { assert, assertEquals } from "@std/assert";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { retrySafe } from "../src/client/retry_policy.ts";
import { startBrokerProcess } from "../src/launch/role_process.ts";
import { startGrid } from "./_grid.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Starts the self-killing broker; resolves once it listens. */
async function crashingBroker(stateDir: string, port: number, op: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}tests/_crash_broker.ts`,
      stateDir,
      `${port}`,
      op,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("listening on")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("crash broker did not start");
    out += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return child;
}

Deno.test("idempotency: a broker killed between commit and answer yields no duplicate submit and no stranded match", async () => {
  // The grid's own broker only makes the state dir, CA and tokens.
  const grid = await startGrid({ process: true });
  const port = Number(new URL(grid.url).port);
  await grid.brokerProcess!.stop();
  const clients: BrokerClient[] = [];
  let after: Awaited<ReturnType<typeof startBrokerProcess>> | undefined;
  try {
    const patient = async (dir: string) => {
      const c = new BrokerClient(grid.url, await readTokenDir(dir), {
        retries: 10,
        retryDelayMs: 250,
      });
      clients.push(c);
      return c;
    };
    const user = await patient(grid.userTokenDir);
    const agent = await patient(grid.agentTokenDir);

    // 1. submit: killed after the commit; the retry meets a new broker.
    let crash = await crashingBroker(grid.stateDir, port, "submit");
    const submitted = user.submit('Executable = "/bin/true";', "key-1");
    assertEquals((await crash.status).signal, "SIGKILL");
    crash = await crashingBroker(grid.stateDir, port, "match");
    const { jobId } = await submitted;
    assertEquals(
      (await user.submit('Executable = "/bin/true";', "key-1")).jobId,
      jobId,
    );
    const listed = await user.json<{ jobs: { id: string }[] }>(
      "GET",
      "/api/v1/jobs",
    );
    assertEquals(listed!.jobs.map((j) => j.id), [jobId], "exactly one job");

    // 2. match: killed after the claim committed; the retry repeats the key.
    const matched = agent.match<{ jobId: string }>({ ttl: 3600 }, "match-1");
    assertEquals((await crash.status).signal, "SIGKILL");
    after = await startBrokerProcess({ stateDir: grid.stateDir, port });
    const m = await matched;
    assertEquals(
      m?.jobId,
      jobId,
      "the retry gets the job its first try claimed",
    );
    const job = await user.json<{ state: string; agent: string }>(
      "GET",
      `/api/v1/jobs/${jobId}`,
    );
    assertEquals(job!.state, "ASSIGNED");
    assertEquals(job!.agent, "test-site");
    // A new request finds nothing else; the job is not handed out twice.
    assertEquals(await agent.match({ ttl: 3600 }, "match-2"), undefined);
    // The token of the replayed answer is the live one.
    assert(m && "token" in m, "the replayed match carries a job token");
  } finally {
    for (const c of clients) c.close();
    await after?.stop();
    await grid.close();
  }
});

Deno.test("retry policy: only reads, keyed requests and state reports are repeated", () => {
  const h = (o: Record<string, string> = {}) => new Headers(o);
  assert(retrySafe("GET", "/api/v1/jobs", h()));
  assert(retrySafe("POST", "/api/v1/jobs", h({ "idempotency-key": "k" })));
  assert(!retrySafe("POST", "/api/v1/jobs", h()));
  assert(!retrySafe("POST", "/api/v1/match", h()));
  assert(retrySafe("POST", "/api/v1/jobs/7/status", h()));
  assert(retrySafe("POST", "/api/v1/jobs/7/heartbeat", h()));
  assert(!retrySafe("POST", "/api/v1/jobs/7/kill", h()));
  assert(!retrySafe("POST", "/api/v1/jobs/7/resubmit", h()));
  assert(retrySafe("PUT", "/api/v1/factory/pilots?site=a", h()));
  assert(retrySafe("POST", "/api/v1/factory/demand?site=a", h()));
  assert(!retrySafe("POST", "/api/v1/factory/pilot?site=a", h()));
});

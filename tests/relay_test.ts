/**
 * The relay against a real broker (issue 20): a wrapper-side client and an
 * agent-side relay joined by real frame streams, the agent's calls made
 * over mutual TLS with a job token the broker issued at match time.
 * Refusals come from the agent first and, for anything it passes, from the
 * broker's own authorization table.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  BrokerClient,
  BrokerError,
  type TokenPem,
} from "../src/client/broker_client.ts";
import { FrameWriter, readFrames } from "../src/pipe/mod.ts";
import { RelayClient } from "../src/wrapper/relay_client.ts";
import { RelayServer } from "../src/agent/relay_server.ts";
import { startGrid } from "./_grid.ts";
import { RELAYED_JOB_HEADER } from "../src/broker/relayed_job.ts";
import { pemToDer } from "../src/token/pem.ts";

interface Matched {
  jobId: string;
  token: TokenPem;
}

/** Wrapper ↔ agent over two in-memory byte streams, frames both ways. */
function relayPair(
  url: string,
  job: Matched,
  agent: BrokerClient,
  bounds: { ratePerSecond?: number; burst?: number } = {},
) {
  const up = new TransformStream<Uint8Array, Uint8Array>();
  const down = new TransformStream<Uint8Array, Uint8Array>();
  const wrapperOut = new FrameWriter(up.writable);
  const agentOut = new FrameWriter(down.writable);
  const logs: string[] = [];
  const server = new RelayServer({
    jobId: job.jobId,
    broker: url,
    jobCertPem: job.token.certPem,
    client: agent,
    out: agentOut,
    log: (l) => logs.push(l),
    ...bounds,
  });
  const client = new RelayClient(wrapperOut);
  const agentLoop = (async () => {
    for await (const f of readFrames(up.readable)) server.handle(f);
  })();
  const wrapperLoop = (async () => {
    for await (const f of readFrames(down.readable)) client.handle(f);
    client.close();
  })();
  const broker = new BrokerClient(url, undefined, { transport: client.fetch });
  return {
    broker,
    server,
    client,
    logs,
    close: async () => {
      await server.close();
      await wrapperOut.close();
      await agentOut.close();
      await Promise.all([agentLoop, wrapperLoop]);
    },
  };
}

async function refusal(p: Promise<unknown>): Promise<BrokerError> {
  const e = await p.then(() => undefined, (e) => e);
  assert(e instanceof BrokerError, `expected a BrokerError, got ${e}`);
  return e;
}

Deno.test("relay: calls for another job or USER-only endpoints are refused by the agent, and by the broker too", async () => {
  const grid = await startGrid();
  try {
    const jdl = 'Executable = "/bin/true"; TTL = 300;';
    const a = await grid.submit(jdl);
    const b = await grid.submit(jdl);
    const agent = await grid.client(grid.agentTokenDir);
    const job = (await agent.match<Matched>(
      { cpuCores: 1, ttl: 3600 },
      crypto.randomUUID(),
    ))!;
    const other = job.jobId === a ? b : a;
    const pair = relayPair(grid.url, job, agent);
    try {
      // Its own job: relayed, answered by the broker.
      const self = await pair.broker.json<{ state: string }>(
        "GET",
        `/api/v1/jobs/${job.jobId}`,
      );
      assertEquals(self!.state, "ASSIGNED");
      // Another job's endpoint, even through a dot segment: the agent.
      for (
        const path of [
          `/api/v1/jobs/${other}/status`,
          `/api/v1/jobs/${job.jobId}/../${other}/status`,
        ]
      ) {
        const e = await refusal(
          pair.broker.json("POST", path, { state: "STARTED", attempt: 0 }),
        );
        assertEquals([e.status, e.reason], [403, "relay_refused"], e.message);
        assert(e.message.includes(`may not relay calls for job ${other}`));
      }
      // USER-only endpoints: submit, list, kill.
      for (
        const [method, path] of [
          ["POST", "/api/v1/jobs"],
          ["GET", "/api/v1/jobs"],
          ["POST", `/api/v1/jobs/${job.jobId}/kill`],
          ["POST", "/api/v1/match"],
        ]
      ) {
        const e = await refusal(
          pair.broker.request(method, path, { body: "x" }),
        );
        assertEquals([e.status, e.reason], [403, "relay_refused"], e.message);
      }
      // Anything that is not a path below the broker.
      const bad = await refusal(pair.broker.request("GET", "//evil.example/x"));
      assertEquals(bad.status, 400, bad.message);
      // A file route passes the agent (files are not per job ID in the
      // path) but the broker's table refuses another job's output dir.
      const put = await refusal(
        pair.broker.upload(`/jdoe/jobs/${other}/x.txt`, new Uint8Array([1])),
      );
      assertEquals([put.status, put.reason], [403, "wrong_object"]);
      assertEquals(pair.server.stats.refused, 7);
      assert(
        pair.logs.some((l) =>
          l.includes("relay_refused") || l.includes("may not relay")
        ),
      );
    } finally {
      await pair.close();
    }
    // The broker says the same to the job token used directly.
    const direct = new BrokerClient(grid.url, job.token);
    try {
      const e1 = await refusal(
        direct.json("POST", `/api/v1/jobs/${other}/status`, {
          state: "STARTED",
          attempt: 0,
        }),
      );
      assertEquals([e1.status, e1.reason], [403, "wrong_object"]);
      const e2 = await refusal(direct.submit(jdl));
      assertEquals([e2.status, e2.reason], [403, "wrong_role"]);
    } finally {
      direct.close();
    }
  } finally {
    await grid.close();
  }
});

Deno.test("relay: an upload and a download stream through intact, sha-256 checked", async () => {
  const grid = await startGrid();
  try {
    await grid.submit('Executable = "/bin/true"; TTL = 300;');
    const agent = await grid.client(grid.agentTokenDir);
    const job = (await agent.match<Matched>(
      { cpuCores: 1, ttl: 3600 },
      crypto.randomUUID(),
    ))!;
    const pair = relayPair(grid.url, job, agent);
    try {
      const size = 5 * 2 ** 20 + 3;
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) {
        crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
      }
      const sha = Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
        (x) => x.toString(16).padStart(2, "0"),
      ).join("");
      const lfn = `/jdoe/jobs/${job.jobId}/big.bin`;
      // As a stream of odd-sized chunks, as the wrapper uploads a file.
      let off = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (off >= size) return c.close();
          const n = Math.min(100_003, size - off);
          c.enqueue(data.slice(off, off += n));
        },
      });
      const up = await pair.broker.upload(lfn, body, sha);
      assertEquals([up.size, up.sha256], [size, sha]);
      // A wrong hash is the broker's 4xx, relayed as such.
      const bad = await refusal(
        pair.broker.upload(`${lfn}.2`, new Uint8Array([1, 2, 3]), sha),
      );
      assertEquals(bad.status >= 400 && bad.status < 500, true, bad.message);
      const res = await pair.broker.download(lfn);
      assertEquals(res.headers.get("x-sha256"), sha);
      const got = new Uint8Array(await res.arrayBuffer());
      assertEquals(got.length, size);
      assertEquals(got, data);
      assertEquals(pair.server.stats.bytesUp >= size, true);
      assertEquals(pair.server.stats.bytesDown >= size, true);
      assertEquals(pair.server.open, 0);
      assertEquals(pair.client.open, 0);
      // An abandoned call (the wrapper's timeout) is cancelled at the agent.
      const abort = new AbortController();
      abort.abort(new Error("gave up"));
      await assertRejects(
        () =>
          pair.client.fetch(`${grid.url}/api/v1/jobs/${job.jobId}`, {
            signal: abort.signal,
          }),
        Error,
        "gave up",
      );
    } finally {
      await pair.close();
    }
  } finally {
    await grid.close();
  }
});

Deno.test("broker: only the agent that matched a job may act for it with its token", async () => {
  const grid = await startGrid();
  try {
    await grid.submit('Executable = "/bin/true"; TTL = 300;');
    const agent = await grid.client(grid.agentTokenDir);
    const job = (await agent.match<Matched>(
      { cpuCores: 1, ttl: 3600 },
      crypto.randomUUID(),
    ))!;
    const b64 = (pem: string) => btoa(String.fromCharCode(...pemToDer(pem)));
    const as = (client: BrokerClient, value: string) =>
      refusal(
        client.request("GET", `/api/v1/jobs/${job.jobId}`, {
          headers: { [RELAYED_JOB_HEADER]: value },
        }),
      );
    // The matching agent: served as the job.
    const ok = await agent.request("GET", `/api/v1/jobs/${job.jobId}`, {
      headers: { [RELAYED_JOB_HEADER]: b64(job.token.certPem) },
    });
    assertEquals((await ok.json()).state, "ASSIGNED");
    // Acting as the job, the agent gets what the job would: no USER
    // endpoint (the table's wrong_role), no other job's.
    const submit = await refusal(
      agent.request("POST", "/api/v1/jobs", {
        body: 'Executable = "/bin/true";',
        headers: { [RELAYED_JOB_HEADER]: b64(job.token.certPem) },
      }),
    );
    assertEquals([submit.status, submit.reason], [403, "wrong_role"]);
    // A user may not act for a job, whatever certificate it shows.
    const u = await as(grid.user, b64(job.token.certPem));
    assertEquals([u.status, u.reason], [403, "relay_not_agent"]);
    // Another agent did not match it.
    const other = await grid.client(
      await grid.token("agent2", {
        role: "JOB_AGENT",
        subject: "other-site",
        ttlSeconds: 600,
      }),
    );
    const o = await as(other, b64(job.token.certPem));
    assertEquals([o.status, o.reason], [403, "wrong_object"]);
    // Not a certificate; not a job token.
    assertEquals((await as(agent, "%%%")).status, 400);
    const userCert = await Deno.readTextFile(`${grid.userTokenDir}/cert.pem`);
    const n = await as(agent, b64(userCert));
    assertEquals([n.status, n.reason], [401, "relay_not_job"]);
    // Once the job is final its token is dead, relayed or not.
    const direct = new BrokerClient(grid.url, job.token);
    try {
      for (const state of ["STARTED", "RUNNING", "SAVING", "DONE"]) {
        await direct.json("POST", `/api/v1/jobs/${job.jobId}/status`, {
          state,
          attempt: 0,
        });
      }
    } finally {
      direct.close();
    }
    const dead = await as(agent, b64(job.token.certPem));
    assertEquals([dead.status, dead.reason], [401, "revoked"]);
  } finally {
    await grid.close();
  }
});

Deno.test("relay: past its call rate a wrapper gets 429 relay_busy from the agent", async () => {
  const grid = await startGrid();
  try {
    await grid.submit('Executable = "/bin/true"; TTL = 300;');
    const agent = await grid.client(grid.agentTokenDir);
    const job = (await agent.match<Matched>(
      { cpuCores: 1, ttl: 3600 },
      crypto.randomUUID(),
    ))!;
    const pair = relayPair(grid.url, job, agent, {
      ratePerSecond: 0.001,
      burst: 2,
    });
    try {
      for (let i = 0; i < 2; i++) {
        await pair.broker.json("GET", `/api/v1/jobs/${job.jobId}`);
      }
      const e = await refusal(
        pair.broker.json("GET", `/api/v1/jobs/${job.jobId}`),
      );
      assertEquals([e.status, e.reason], [429, "relay_busy"], e.message);
      assertEquals(pair.server.stats.forwarded, 2);
    } finally {
      await pair.close();
    }
  } finally {
    await grid.close();
  }
});

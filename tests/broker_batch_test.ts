/**
 * `POST /api/v1/jobs/:id/batch` over real mutual-TLS HTTPS: each step
 * acts as the single request it stands for (same authorization, same
 * trace), a failing step stops the batch with its own status, and a
 * resent batch changes nothing.
 */
import { assert, assertEquals } from "@std/assert";
import {
  BrokerClient,
  BrokerError,
  type TokenPem,
} from "../src/client/broker_client.ts";
import { batchPath, fileStep } from "../src/protocol/batch.ts";
import { startGrid } from "./_grid.ts";

interface Matched {
  jobId: string;
  resubmission: number;
  token: TokenPem;
}

const enc = new TextEncoder();

async function failure(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BrokerError) return e;
    throw e;
  }
  throw new Error("expected the request to fail");
}

Deno.test("batch: STARTED+RUNNING, then SAVING + outputs + DONE, two requests, full trace", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const agent = await grid.client(grid.agentTokenDir);
  let w: BrokerClient | undefined;
  try {
    const id = await grid.submit('Executable = "/bin/true";');
    const m = (await agent.json<Matched>("POST", "/api/v1/match", {
      ttl: 86400,
      cpuCores: 1,
    }))!;
    w = new BrokerClient(grid.url, m.token, { retries: 1 });
    const attempt = m.resubmission;
    const start = {
      steps: [
        { op: "status", body: { state: "STARTED", attempt } },
        { op: "status", body: { state: "RUNNING", attempt } },
      ],
    };
    await w.json("POST", batchPath(id), start);
    // Resent (its answer lost): acknowledged again, nothing moves.
    await w.json("POST", batchPath(id), start);
    const out = `/jdoe/jobs/${id}/stdout`;
    const r = await w.json<{ results: { status: number }[] }>(
      "POST",
      batchPath(id),
      {
        steps: [
          { op: "status", body: { state: "SAVING", attempt, exitCode: 0 } },
          await fileStep(out, enc.encode("hello\n")),
          { op: "status", body: { state: "DONE", attempt, exitCode: 0 } },
        ],
      },
    );
    assertEquals(r!.results.map((x) => x.status), [200, 201, 200]);
    const t = await grid.user.json<{ trace: { state: string }[] }>(
      "GET",
      `/api/v1/jobs/${id}/trace`,
    );
    assertEquals(t!.trace.map((e) => e.state), [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "RUNNING",
      "SAVING",
      "DONE",
    ]);
    const got = await grid.user.download(out);
    assertEquals(await got.text(), "hello\n");
    // The per-attempt copy is filed as for a plain PUT.
    const copy = await grid.user.download(
      `/jdoe/jobs/${id}/.attempt/${attempt}/stdout`,
    );
    assertEquals(await copy.text(), "hello\n");
  } finally {
    w?.close();
    await grid.close();
  }
});

Deno.test("batch: a refused step stops the batch with its own status; earlier steps stay", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const agent = await grid.client(grid.agentTokenDir);
  let w: BrokerClient | undefined;
  try {
    const id = await grid.submit('Executable = "/bin/true";');
    const other = await grid.submit('Executable = "/bin/true";');
    const m = (await agent.json<Matched>("POST", "/api/v1/match", {
      ttl: 86400,
      cpuCores: 1,
    }))!;
    assertEquals(m.jobId, id);
    w = new BrokerClient(grid.url, m.token, { retries: 1 });
    const attempt = m.resubmission;
    // A file outside the job's output dir: 403 at step 1, STARTED applied,
    // RUNNING never tried.
    const e = await failure(w.json("POST", batchPath(id), {
      steps: [
        { op: "status", body: { state: "STARTED", attempt } },
        await fileStep("/jdoe/elsewhere/x", enc.encode("x")),
        { op: "status", body: { state: "RUNNING", attempt } },
      ],
    }));
    assertEquals([e.status, e.reason], [403, "wrong_object"]);
    const j = await grid.user.json<{ state: string }>(
      "GET",
      `/api/v1/jobs/${id}`,
    );
    assertEquals(j!.state, "STARTED");
    // An illegal transition inside a batch is the same 409 as alone.
    const ill = await failure(w.json("POST", batchPath(id), {
      steps: [{ op: "status", body: { state: "DONE", attempt } }],
    }));
    assertEquals([ill.status, ill.reason], [409, "illegal_transition"]);
    // A job token batches only for its own job.
    const foreign = await failure(w.json("POST", batchPath(other), {
      steps: [{ op: "status", body: { state: "STARTED" } }],
    }));
    assertEquals(foreign.status, 403);
    // A bad checksum is refused like a PUT's.
    const step = await fileStep(`/jdoe/jobs/${id}/stdout`, enc.encode("a"));
    const bad = await failure(w.json("POST", batchPath(id), {
      steps: [{ ...step, data: btoa("b") }],
    }));
    assert(bad.status >= 400 && bad.status < 500, String(bad.status));
    // Malformed bodies: one-line 400s.
    for (
      const body of [
        {},
        { steps: [] },
        { steps: [{ op: "kill", body: {} }] },
        { steps: [{ op: "status" }] },
        { steps: [{ op: "file", lfn: "/x", sha256: "0", data: "" }] },
        { steps: new Array(33).fill({ op: "heartbeat", body: {} }) },
      ]
    ) {
      const r = await failure(w.json("POST", batchPath(id), body));
      assertEquals(r.status, 400, JSON.stringify(body).slice(0, 80));
    }
    // A user has no batch route at all.
    const u = await failure(grid.user.json("POST", batchPath(id), {
      steps: [{ op: "status", body: { state: "RUNNING" } }],
    }));
    assertEquals(u.status, 403);
  } finally {
    w?.close();
    await grid.close();
  }
});

Deno.test("batch: the agent's final word: live log end + outcome with usage in one request", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const agent = await grid.client(grid.agentTokenDir);
  try {
    const id = await grid.submit('Executable = "/bin/true";');
    const m = (await agent.json<Matched>("POST", "/api/v1/match", {
      ttl: 86400,
      cpuCores: 1,
    }))!;
    const attempt = m.resubmission;
    const usage = {
      cpuSeconds: 0.5,
      rssBytes: 10,
      wallSeconds: 1,
      diskBytes: 2,
    };
    await agent.json("POST", batchPath(id), {
      steps: [
        {
          op: "log",
          bestEffort: true,
          body: { lines: [{ stream: "wrapper", text: "bye" }], eof: true },
        },
        { op: "status", body: { state: "STARTED", attempt } },
        { op: "status", body: { state: "RUNNING", attempt } },
        {
          op: "status",
          body: { state: "ERROR_E", attempt, exitCode: 1, usage },
        },
      ],
    });
    const j = await grid.user.json<
      { state: string; usage: { cpuSeconds: number } }
    >("GET", `/api/v1/jobs/${id}`);
    assertEquals([j!.state, j!.usage.cpuSeconds], ["ERROR_E", 0.5]);
    const log = await grid.user.json<{ lines: { text: string }[] }>(
      "GET",
      `/api/v1/jobs/${id}/log`,
    );
    assertEquals(log!.lines.map((l) => l.text), ["bye"]);
  } finally {
    await grid.close();
  }
});

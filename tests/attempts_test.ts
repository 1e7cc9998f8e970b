/**
 * Attempts: every resubmission is a new attempt; each attempt's outputs
 * and logs are kept apart; `get` serves the attempt that reached the final
 * state and `--attempt N` an older one; a superseded attempt's token can
 * write nothing; a resent report of an applied transition is acknowledged
 * again, and a report of an old attempt is refused with the broker's view.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { startGrid } from "./_grid.ts";
import { job, marker, shellJdl, spawnAgent } from "./_agent_helpers.ts";
import { main as getMain } from "../src/cli/get_cmd.ts";
import { BrokerClient, BrokerError } from "../src/client/broker_client.ts";

async function get(
  grid: Awaited<ReturnType<typeof startGrid>>,
  id: string,
  extra: string[] = [],
): Promise<Record<string, string>> {
  const dir = `${grid.dir}/get-${Math.random()}`;
  const lines: string[] = [];
  const code = await getMain([
    id,
    "--out",
    dir,
    "--json",
    "--broker",
    grid.url,
    "--token",
    grid.userTokenDir,
    ...extra,
  ], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  assertEquals(code, 0, lines.join("\n"));
  const out: Record<string, string> = {};
  for (const f of JSON.parse(lines.join("")).files) {
    out[f.path.slice(dir.length + 1)] = (await Deno.readTextFile(f.path))
      .trim();
  }
  return out;
}

Deno.test("attempts: get serves the final attempt, --attempt N an older one", async () => {
  const grid = await startGrid({ maxResubmissions: 0 });
  const m = marker();
  try {
    const id = await grid.submit(
      shellJdl(
        `echo log-$JALIEN_RESUBMISSION; [ $JALIEN_RESUBMISSION -ge 1 ] || exit 3; echo run-$JALIEN_RESUBMISSION > out.txt`,
        m,
      ).replace("TTL", `OutputFile = {"out.txt"};\nTTL`),
    );
    const run = async () => {
      const a = spawnAgent(grid, {
        containers: "none",
        extraArgs: ["--max-empty", "1", "--heartbeat", "1"],
      });
      const end = await a.done();
      assertEquals(end.code, 0, end.log);
    };
    await run();
    assertEquals((await job(grid, id)).state, "ERROR_E");
    await grid.user.json("POST", `/api/v1/jobs/${id}/resubmit`);
    await run();
    const j = await job(grid, id);
    assertEquals([j.state, j.resubmissions], ["DONE", 1]);
    const final = await get(grid, id);
    const first = await get(grid, id, ["--attempt", "0"]);
    // Each attempt's accounting: how it ended, what it used.
    const acct = [final, first].map((g) => JSON.parse(g[".accounting.json"]));
    assertEquals(
      acct.map((a) => [a.attempt, a.state, a.exitCode]),
      [[1, "DONE", 0], [0, "ERROR_E", 3]],
    );
    assertEquals(typeof acct[0].usage.wallSeconds, "number");
    delete final[".accounting.json"];
    delete first[".accounting.json"];
    // Each attempt's permission audit log, shipped with its outputs.
    for (const g of [final, first]) {
      assertEquals(g["audit.jsonl.gz"]?.charCodeAt(0), 0x1f, "gzip");
      delete g["audit.jsonl.gz"];
    }
    assertEquals(final, { "out.txt": "run-1", stdout: "log-1", stderr: "" });
    assertEquals(first, { stdout: "log-0", stderr: "" });
    // An attempt that never ran: "no outputs", exit 3.
    const none: string[] = [];
    assertEquals(
      await getMain([
        id,
        "--attempt",
        "5",
        "--json",
        "--broker",
        grid.url,
        "--token",
        grid.userTokenDir,
      ], {
        out: (l) => none.push(l),
        err: (l) => none.push(l),
      }),
      3,
      none.join("\n"),
    );
    assertEquals(JSON.parse(none[0]).reason, "no_outputs");
  } finally {
    await grid.close();
  }
});

Deno.test("attempts: a superseded attempt writes nothing; resent reports are idempotent", async () => {
  const grid = await startGrid({ maxResubmissions: 3 });
  const clients: BrokerClient[] = [];
  try {
    const id = await grid.submit(`Executable = "/bin/true";\nTTL = 60;\n`);
    const agent = await grid.client(grid.agentTokenDir);
    const matched = (await agent.json<
      { jobId: string; resubmission: number; token: never }
    >("POST", "/api/v1/match", { ttl: 3600, cpuCores: 1 }))!;
    assertEquals([matched.jobId, matched.resubmission], [id, 0]);
    const old = new BrokerClient(grid.url, matched.token);
    clients.push(old);
    const status = (body: Record<string, unknown>) =>
      agent.json<{ state: string; resent?: boolean }>(
        "POST",
        `/api/v1/jobs/${id}/status`,
        body,
      );
    await old.json("POST", `/api/v1/jobs/${id}/status`, {
      state: "STARTED",
      attempt: 0,
    });
    await status({ state: "RUNNING", attempt: 0 });
    // STARTED again (its answer was lost): acknowledged, nothing moves.
    assertEquals(await status({ state: "STARTED", attempt: 0 }), {
      jobId: id,
      state: "RUNNING",
      attempt: 0,
      resent: true,
    } as never);
    // Preempted: handed back, attempt 1 waits.
    assertEquals(
      (await status({ state: "WAITING", attempt: 0 }))!.state,
      "WAITING",
    );
    assertEquals((await job(grid, id)).resubmissions, 1);
    // The old attempt's token writes nothing: no status, no file.
    for (
      const call of [
        () =>
          old.json("POST", `/api/v1/jobs/${id}/status`, {
            state: "RUNNING",
            attempt: 0,
          }),
        () =>
          old.upload(
            `/jdoe/jobs/${id}/out.txt`,
            new TextEncoder().encode("stale"),
          ),
      ]
    ) {
      const err = await assertRejects(call, BrokerError);
      assertEquals(err.status, 401, err.message);
    }
    const files = await grid.user.json<{ files: unknown[] }>(
      "GET",
      `/api/v1/files?prefix=${encodeURIComponent(`/jdoe/jobs/${id}/`)}`,
    );
    assertEquals(files!.files, []);
    // The same agent gets attempt 1; a late report of attempt 0 is refused
    // with the broker's view.
    const next = (await agent.json<{ token: never; resubmission: number }>(
      "POST",
      "/api/v1/match",
      { ttl: 3600, cpuCores: 1 },
    ))!;
    assertEquals(next.resubmission, 1);
    assertEquals(
      (await status({ state: "RUNNING", attempt: 0 }))!.resent,
      true,
      "attempt 0 did enter RUNNING: a resend",
    );
    const e = await assertRejects(
      () => status({ state: "SAVING", attempt: 0 }),
      BrokerError,
    );
    assertEquals([e.status, e.reason], [409, "superseded"]);
    assertEquals(e.view, { state: "ASSIGNED", attempt: 1 });
    // A job token may not forge the per-attempt tree either.
    const cur = new BrokerClient(grid.url, next.token);
    clients.push(cur);
    const forged = await assertRejects(
      () =>
        cur.upload(
          `/jdoe/jobs/${id}/.attempt/0/out.txt`,
          new TextEncoder().encode("forged"),
        ),
      BrokerError,
    );
    assertEquals(forged.status, 403);
    assertStringIncludes(forged.message, "broker only");
    // Attempt 1 runs to DONE; DONE resent is acknowledged again.
    for (const state of ["STARTED", "RUNNING", "SAVING", "DONE"]) {
      await status({ state, attempt: 1 });
    }
    assertEquals((await status({ state: "DONE", attempt: 1 }))!.state, "DONE");
    assertEquals((await job(grid, id)).state, "DONE");
  } finally {
    for (const c of clients) c.close();
    await grid.close();
  }
});

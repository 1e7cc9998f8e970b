/**
 * Masterjobs end to end (real broker over mutual TLS, real agent and
 * wrappers), site attributes and "why is my job waiting".
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { type Grid, startGrid } from "./_grid.ts";

interface MasterView {
  id: string;
  state: string;
  master: true;
  split: string;
  subjobs: number;
  counts: Record<string, number>;
}

interface JobLite {
  id: string;
  state: string;
  why?: string;
}

async function submit(
  grid: Grid,
  jdl: string,
  args: string[] = [],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const q = new URLSearchParams();
  for (const a of args) q.append("arg", a);
  const r = await grid.user.request("POST", `/api/v1/jobs?${q}`, {
    body: jdl,
    retry: false,
  }).catch((e) => e);
  if (r instanceof Response) return { status: r.status, body: await r.json() };
  return { status: (r as { status: number }).status, body: r };
}

async function subjobs(
  grid: Grid,
  master: string,
): Promise<{ master: MasterView; jobs: JobLite[] }> {
  return (await grid.user.json<{ master: MasterView; jobs: JobLite[] }>(
    "GET",
    `/api/v1/jobs?master=${master}`,
  ))!;
}

async function fileText(grid: Grid, lfn: string): Promise<string> {
  const r = await grid.user.request("GET", `/api/v1/files${lfn}`);
  return await r.text();
}

async function upload(grid: Grid, lfn: string, text: string): Promise<void> {
  const r = await grid.user.request("PUT", `/api/v1/files${lfn}`, {
    body: new TextEncoder().encode(text),
  });
  await r.body?.cancel();
}

function agentArgs(extra: string[] = []): string[] {
  return ["--max-empty", "1", "--heartbeat", "2", "--cores", "4", ...extra];
}

Deno.test("masterjob: Split production:1-50 runs 50 subjobs to DONE, the master DONE with its counts", async () => {
  const grid = await startGrid();
  try {
    const jdl = `Executable = "/bin/sh";
Arguments = "-c 'echo $0 > n.txt'";
SplitArguments = "#alien_counter_03i#";
OutputFile = {"n.txt"};
OutputDir = "/jdoe/prod/#alien_counter#";
Split = "production:1-50";
MasterResubmitThreshold = "90%";
TTL = 300;
`;
    const out = await submit(grid, jdl);
    assertEquals(out.status, 201, JSON.stringify(out.body));
    assertEquals(out.body.state, "SPLIT");
    assertEquals(out.body.subjobs, 50);
    const masterId = String(out.body.jobId);
    const before = await subjobs(grid, masterId);
    assertEquals(before.jobs.length, 50);
    assertEquals(before.master.state, "SPLIT");
    assertEquals(before.master.counts, { WAITING: 50 });
    // Master and subjob IDs never clash.
    assert(!before.jobs.some((j) => j.id === masterId));

    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(),
      timeoutMs: 900_000,
    });
    assertEquals(agent.code, 0, agent.log.slice(-3000));

    const after = await subjobs(grid, masterId);
    assertEquals(after.master.state, "DONE", JSON.stringify(after.master));
    assertEquals(after.master.counts, { DONE: 50 });
    assertEquals(after.master.subjobs, 50);
    const ids = after.jobs.map((j) => j.id).sort((a, b) =>
      Number(a) - Number(b)
    );
    for (const [n, id] of ids.entries()) {
      const want = String(n + 1).padStart(3, "0");
      assertEquals(
        (await fileText(grid, `/jdoe/jobs/${id}/n.txt`)).trim(),
        want,
        `subjob ${id}`,
      );
    }
    // The master's own view and trace.
    const view = (await grid.user.json<MasterView>(
      "GET",
      `/api/v1/jobs/${masterId}`,
    ))!;
    assertEquals(view.state, "DONE");
    const trace =
      (await grid.user.json<{ trace: { state: string; reason: string }[] }>(
        "GET",
        `/api/v1/jobs/${masterId}/trace`,
      ))!.trace;
    assertEquals(trace.map((t) => t.state), ["SPLIT", "DONE"]);
    assertStringIncludes(trace[1].reason, "50 DONE");
    // ps lists the master with its counts.
    const ps = (await grid.user.json<{ masters: MasterView[] }>(
      "GET",
      "/api/v1/jobs",
    ))!;
    assertEquals(ps.masters.map((m) => [m.id, m.state, m.counts]), [
      [masterId, "DONE", { DONE: 50 }],
    ]);
  } finally {
    await grid.close();
  }
});

Deno.test("masterjob: Split file over 5 inputs makes 5 subjobs with #alienfilename# filled in", async () => {
  const grid = await startGrid();
  try {
    const names = ["a1.txt", "b2.txt", "c3.txt", "d4.txt", "e5.txt"];
    for (const n of names) {
      await upload(grid, `/jdoe/data/${n}`, `content of ${n}\n`);
    }
    const jdl = `Executable = "/bin/sh";
Arguments = "-c 'cat $0 > copy.txt; echo $0 >> copy.txt'";
SplitArguments = {"#alienfilename#"};
InputData = {${names.map((n) => `"LF:/jdoe/data/${n}"`).join(", ")}};
OutputFile = {"copy.txt"};
OutputDir = "/jdoe/out/#alienfilename/.txt//#";
Split = "file";
TTL = 300;
`;
    const out = await submit(grid, jdl);
    assertEquals(out.status, 201, JSON.stringify(out.body));
    assertEquals(out.body.subjobs, 5);
    const masterId = String(out.body.jobId);
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(),
      timeoutMs: 300_000,
    });
    assertEquals(agent.code, 0, agent.log.slice(-3000));
    const after = await subjobs(grid, masterId);
    assertEquals(after.master.state, "DONE");
    assertEquals(after.master.counts, { DONE: 5 });
    const seen: string[] = [];
    for (const j of after.jobs) {
      const text = await fileText(grid, `/jdoe/jobs/${j.id}/copy.txt`);
      const [content, name] = text.trim().split("\n");
      assertEquals(content, `content of ${name}`);
      seen.push(name);
    }
    assertEquals(seen.sort(), names);
  } finally {
    await grid.close();
  }
});

Deno.test("masterjob: resubmit and kill on a master act on its subjobs; other users cannot see it", async () => {
  const grid = await startGrid();
  try {
    const out = await submit(
      grid,
      `Executable = "/bin/false"; Split = "production:1-3"; TTL = 60;`,
    );
    const masterId = String(out.body.jobId);
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(),
    });
    assertEquals(agent.code, 0, agent.log.slice(-3000));
    const failed = await subjobs(grid, masterId);
    assertEquals(failed.master.state, "DONE");
    assertEquals(failed.master.counts, { ERROR_E: 3 });
    const again = (await grid.user.json<{ state: string; resubmitted: number }>(
      "POST",
      `/api/v1/jobs/${masterId}/resubmit`,
      {},
    ))!;
    assertEquals(again.resubmitted, 3);
    assertEquals(again.state, "SPLIT");
    assertEquals((await subjobs(grid, masterId)).master.counts, { WAITING: 3 });
    const killed = (await grid.user.json<{ state: string; killed: number }>(
      "POST",
      `/api/v1/jobs/${masterId}/kill`,
      {},
    ))!;
    assertEquals(killed.killed, 3);
    assertEquals(killed.state, "DONE");
    assertEquals((await subjobs(grid, masterId)).master.counts, { KILLED: 3 });
    // Another user sees neither the master nor its subjobs.
    const other = await grid.client(
      await grid.token("mallory", {
        role: "USER",
        subject: "mallory",
        ttlSeconds: 600,
      }),
    );
    for (
      const path of [
        `/api/v1/jobs/${masterId}`,
        `/api/v1/jobs?master=${masterId}`,
      ]
    ) {
      const r = await other.request("GET", path).catch((e) => e);
      assertEquals((r as { status: number }).status, 403, path);
    }
  } finally {
    await grid.close();
  }
});

Deno.test("why: an agent lacking the required attribute is named as the blocking requirement; --attr then runs the job", async () => {
  const grid = await startGrid();
  try {
    const out = await submit(
      grid,
      `Executable = "/bin/true";
Requirements = member(other.GridPartitions, "quickreco") && other.Type == "machine";
TTL = 60;
`,
    );
    assertEquals(out.status, 201);
    const id = String(out.body.jobId);
    const why = async () =>
      (await grid.user.json<{ why: string }>("GET", `/api/v1/jobs/${id}/why`))!
        .why;
    assertEquals(await why(), "no agent asked for work in the last hour");

    // An agent without the attribute: the job waits, and why says so.
    const plain = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(),
    });
    assertEquals(plain.code, 0, plain.log);
    assertMatch(
      await why(),
      /^other\.GridPartitions: no agent in the last hour advertised it/,
    );
    // The same line is in ps and trace.
    const ps =
      (await grid.user.json<{ jobs: JobLite[] }>("GET", "/api/v1/jobs"))!;
    assertMatch(ps.jobs[0].why!, /other\.GridPartitions/);
    const tr = (await grid.user.json<{ job: JobLite }>(
      "GET",
      `/api/v1/jobs/${id}/trace`,
    ))!;
    assertMatch(tr.job.why!, /other\.GridPartitions/);

    // A different partition: advertised, but not the one wanted.
    const wrong = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(["--attr", "GridPartitions=ultrapower,other"]),
    });
    assertEquals(wrong.code, 0, wrong.log);
    assertMatch(
      await why(),
      /member\(other\.GridPartitions, "quickreco"\): none of 1 agent/,
    );

    // Advertised: the job runs (Type defaults to "machine").
    const good = await grid.runAgent({
      containers: "none",
      extraArgs: agentArgs(["--attr", "GridPartitions=ultrapower,quickreco"]),
    });
    assertEquals(good.code, 0, good.log);
    const job = (await grid.user.json<JobLite>("GET", `/api/v1/jobs/${id}`))!;
    assertEquals(job.state, "DONE");
  } finally {
    await grid.close();
  }
});

Deno.test("why: too few cores offered is reported with numbers", async () => {
  const grid = await startGrid();
  try {
    const out = await submit(
      grid,
      `Executable = "/bin/true"; CPUCores = 16; TTL = 60;`,
    );
    const id = String(out.body.jobId);
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: ["--max-empty", "1", "--cores", "2"],
    });
    assertEquals(agent.code, 0, agent.log);
    const r = (await grid.user.json<{ why: string }>(
      "GET",
      `/api/v1/jobs/${id}/why`,
    ))!;
    assertEquals(r.why, "1 agent offered CPUCores ≤ 2, the job wants 16");
  } finally {
    await grid.close();
  }
});

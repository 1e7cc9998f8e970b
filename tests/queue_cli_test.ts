/**
 * The user CLI as a new user would run it: `splitpilot submit|ps|trace|
 * kill|resubmit|get` as subprocesses against a running broker (real
 * mutual-TLS HTTPS), configured by `SPLITPILOT_BROKER`/`SPLITPILOT_TOKEN`.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { BrokerClient } from "../src/client/broker_client.ts";
import { JdlError, parseJdl } from "../src/jdl/mod.ts";
import { type Grid, startGrid } from "./_grid.ts";
import { gridUser, type Run, runSplitpilot } from "./_cli.ts";

/** `splitpilot ...args` as the grid's user runs it (tests/_cli.ts). */
function cli(
  grid: Grid,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return runSplitpilot(gridUser(grid, opts.env), args, opts);
}

function expectCode(r: Run, code: number, what: string) {
  assertEquals(
    r.code,
    code,
    `${what}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
  );
}

Deno.test("CLI: submit, ps, trace, kill and resubmit against a running broker", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const clients: BrokerClient[] = [];
  try {
    const file = `${grid.dir}/hello.jdl`;
    await Deno.writeTextFile(
      file,
      'Executable = "/bin/echo";\nArguments = "hello";\nTTL = 600;\n',
    );
    let r = await cli(grid, ["submit", file]);
    expectCode(r, 0, "submit FILE");
    assertMatch(r.stdout, /^\d+\n$/);
    const first = r.stdout.trim();
    r = await cli(grid, ["submit", "--json", "-"], {
      stdin: 'Executable = "/bin/true";',
    });
    expectCode(r, 0, "submit -");
    const second = JSON.parse(r.stdout);
    assertEquals(Object.keys(second), ["jobId", "state"]);
    assertEquals(second.state, "WAITING");

    const bad = 'Executable = "/bin/true";\nTTL = ;\n';
    let message = "";
    try {
      parseJdl(bad);
    } catch (e) {
      if (!(e instanceof JdlError)) throw e;
      message = e.message;
    }
    assertMatch(message, /^line 2, column 7: expected /);
    r = await cli(grid, ["submit", "-"], { stdin: bad });
    expectCode(r, 2, "submit of a bad JDL");
    assertEquals(r.stderr.trim(), `error: ${message}`);

    // An agent runs the first job and reports usage.
    const agent = await grid.client(grid.agentTokenDir);
    const m = (await agent.json<
      {
        jobId: string;
        token: { certPem: string; keyPem: string; caPem: string };
      }
    >("POST", "/api/v1/match", { ttl: 3600 }))!;
    assertEquals(m.jobId, first);
    const job = new BrokerClient(grid.url, m.token);
    clients.push(job);
    for (const state of ["STARTED", "RUNNING"]) {
      await job.json("POST", `/api/v1/jobs/${first}/status`, { state });
    }
    await agent.json("POST", `/api/v1/jobs/${first}/heartbeat`, {
      usage: {
        cpuSeconds: 75,
        rssBytes: 100 * 2 ** 20,
        maxRssBytes: 200 * 2 ** 20,
        wallSeconds: 130,
        diskBytes: 2 ** 20,
      },
    });

    r = await cli(grid, ["ps"]);
    expectCode(r, 0, "ps");
    // Below the table, one line per waiting job says why it waits.
    assertStringIncludes(
      r.stdout,
      `job ${second.jobId} waits: 1 agent in the last hour could run it`,
    );
    const lines = r.stdout.trimEnd().split("\n").filter((l) =>
      !/^job \d+ waits: /.test(l)
    );
    assertMatch(
      lines[0],
      /^ID\s+USER\s+STATE\s+PRIO\s+CORES\s+RESUB\s+EXIT\s+KILL\s+CPU\s+WALL\s+MAXRSS\s+UPDATED$/,
    );
    assertEquals(lines.length, 3);
    assertMatch(lines[1], new RegExp(`^${second.jobId}\\s+jdoe\\s+WAITING\\s`));
    assertMatch(
      lines[2],
      new RegExp(
        `^${first}\\s+jdoe\\s+RUNNING\\s+0\\s+1\\s+0\\s+-\\s+-\\s+1m15s\\s+2m10s\\s+200\\.0 MiB\\s`,
      ),
    );
    r = await cli(grid, ["ps", "--state", "running", "--json"]);
    expectCode(r, 0, "ps --state --json");
    const listed = JSON.parse(r.stdout).jobs;
    assertEquals(listed.map((j: { id: string }) => j.id), [first]);
    assertEquals(listed[0].usage.cpuSeconds, 75);
    r = await cli(grid, ["ps", "--state", "BOGUS"]);
    expectCode(r, 2, "ps --state BOGUS");
    assertStringIncludes(r.stderr, "unknown job state");
    r = await cli(grid, ["ps", "--user", "alice"]);
    expectCode(r, 3, "ps of another user");
    assertStringIncludes(
      r.stderr,
      "USER jdoe may not act on the jobs of user alice",
    );

    r = await cli(grid, ["trace", first]);
    expectCode(r, 0, "trace");
    assertStringIncludes(r.stdout, `job ${first}  owner jdoe  state RUNNING`);
    assertStringIncludes(r.stdout, "usage: cpu 1m15s  wall 2m10s");
    assertMatch(r.stdout, /\nTIME\s+STATE\s+ACTOR\s+REASON\n/);
    assertMatch(r.stdout, /\s+WAITING\s+USER:jdoe\s+submitted\n/);
    assertMatch(
      r.stdout,
      /\s+ASSIGNED\s+JOB_AGENT:test-site\s+matched by test-site\n/,
    );
    r = await cli(grid, ["trace", first, "--json"]);
    expectCode(r, 0, "trace --json");
    const t = JSON.parse(r.stdout);
    assertEquals(t.trace.map((e: { state: string }) => e.state), [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "RUNNING",
    ]);
    r = await cli(grid, ["trace", "999999"]);
    expectCode(r, 3, "trace of a missing job");
    assertStringIncludes(r.stderr, "error: no job 999999");

    r = await cli(grid, ["kill", first]);
    expectCode(r, 0, "kill");
    assertEquals(r.stdout, `job ${first}: killed, now KILLED\n`);
    const hb = await agent.json<{ kill?: { reason: number } }>(
      "POST",
      `/api/v1/jobs/${first}/heartbeat`,
      {},
    );
    assertEquals(hb?.kill?.reason, 30);
    r = await cli(grid, ["kill", first]);
    expectCode(r, 4, "kill of a killed job");
    assertStringIncludes(r.stderr, "already KILLED");
    r = await cli(grid, ["resubmit", second.jobId, "--json"]);
    expectCode(r, 4, "resubmit of a waiting job");
    r = await cli(grid, ["kill", "abc"]);
    expectCode(r, 2, "kill abc");
    r = await cli(grid, ["ps"], { env: { NO_COLOR: "1" } });
    expectCode(r, 2, "ps without broker");
    assertStringIncludes(r.stderr, "SPLITPILOT_BROKER");
    r = await cli(grid, [
      "ps",
      "--broker",
      grid.url,
      "--token",
      `${grid.dir}/nope`,
    ], { env: { NO_COLOR: "1" } });
    expectCode(r, 2, "ps with a missing token dir");
    assertStringIncludes(r.stderr, "cannot read the token");
  } finally {
    for (const c of clients) c.close();
    await grid.close();
  }
});

Deno.test("CLI: get downloads a job's outputs with progress and checks sha-256", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    const id = await grid.submit('Executable = "/bin/true";');
    const empty = await grid.submit('Executable = "/bin/true";');
    const big = new Uint8Array(3 * 2 ** 20);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    await grid.user.upload(`/jdoe/jobs/${id}/big.bin`, big);
    const small = await grid.user.upload(
      `/jdoe/jobs/${id}/logs/stdout`,
      new TextEncoder().encode("hello\n"),
    );
    // A trailing slash gives no "results//…" paths.
    let r = await cli(grid, ["get", id, "--out", "results/"]);
    expectCode(r, 0, "get");
    assertEquals(await Deno.readFile(`${grid.dir}/results/big.bin`), big);
    assertEquals(
      await Deno.readTextFile(`${grid.dir}/results/logs/stdout`),
      "hello\n",
    );
    assertStringIncludes(r.stderr, "big.bin: 0% (0 B of 3.0 MiB)");
    assertStringIncludes(r.stderr, "big.bin: 100% (3.0 MiB of 3.0 MiB)");
    assert(!r.stderr.includes("logs/stdout:"), "no progress for small files");
    assertMatch(
      r.stdout,
      new RegExp(`\nresults/logs/stdout\\s+6 B\\s+${small.sha256} ok\n`),
    );

    r = await cli(grid, ["get", id, "--json"]);
    expectCode(r, 0, "get --json");
    const out = JSON.parse(r.stdout);
    assertEquals(out.dir, `job-${id}`);
    assertEquals(
      out.files.map((f: { lfn: string; size: number }) => [f.lfn, f.size]),
      [[`/jdoe/jobs/${id}/big.bin`, big.length], [
        `/jdoe/jobs/${id}/logs/stdout`,
        6,
      ]],
    );

    r = await cli(grid, ["get", empty]);
    expectCode(r, 4, "get without outputs");
    assertStringIncludes(r.stderr, `job ${empty} is WAITING: no outputs yet`);

    // A blob altered on the broker's disk fails the check.
    const blob = `${grid.stateDir}/files/blobs/${
      small.sha256.slice(0, 2)
    }/${small.sha256}`;
    await Deno.writeTextFile(blob, "HELLO\n");
    r = await cli(grid, ["get", id, "--out", "again"]);
    expectCode(r, 1, "get of a corrupted file");
    assertStringIncludes(r.stderr, "checksum mismatch");
    const left = [];
    for await (const e of Deno.readDir(`${grid.dir}/again/logs`)) {
      left.push(e.name);
    }
    assertEquals(left, [], "neither the file nor its .part stays");
  } finally {
    await grid.close();
  }
});

Deno.test("CLI: put, ls, cat and get LFN on the user's own tree, sha-256 checked, progress for large files", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    const big = new Uint8Array(2 * 2 ** 20 + 5);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, Math.min(i + 65536, big.length)));
    }
    await Deno.writeFile(`${grid.dir}/big.bin`, big);
    await Deno.writeTextFile(`${grid.dir}/in.txt`, "alpha\n");
    let r = await cli(grid, ["put", "big.bin", "/jdoe/data/"]);
    expectCode(r, 0, "put big");
    assertStringIncludes(r.stderr, "big.bin: 100% (2.0 MiB of 2.0 MiB)");
    assertMatch(
      r.stdout,
      /^big\.bin → \/jdoe\/data\/big\.bin\s+2\.0 MiB\s+[0-9a-f]{64} ok\n$/,
    );
    r = await cli(grid, ["put", "in.txt", "/jdoe/data/in.txt", "--json"]);
    expectCode(r, 0, "put small");
    assertEquals(JSON.parse(r.stdout).size, 6);

    r = await cli(grid, ["ls"]);
    expectCode(r, 0, "ls");
    assertMatch(r.stdout, /\/jdoe\/data\/big\.bin\s+2\.0 MiB/);
    r = await cli(grid, ["ls", "/jdoe/data/", "--json"]);
    assertEquals(
      JSON.parse(r.stdout).files.map((f: { lfn: string }) => f.lfn),
      ["/jdoe/data/big.bin", "/jdoe/data/in.txt"],
    );
    r = await cli(grid, ["cat", "/jdoe/data/in.txt"]);
    expectCode(r, 0, "cat");
    assertEquals(r.stdout, "alpha\n");
    r = await cli(grid, ["get", "/jdoe/data/big.bin", "--out", "dl/"]);
    expectCode(r, 0, "get LFN");
    assertEquals(await Deno.readFile(`${grid.dir}/dl/big.bin`), big);

    // Someone else's tree, a missing file, a missing local file.
    r = await cli(grid, ["put", "in.txt", "/alice/in.txt"]);
    expectCode(r, 3, "put into another user's tree");
    assertStringIncludes(r.stderr, "may not act on /alice/in.txt");
    r = await cli(grid, ["ls", "/alice/"]);
    expectCode(r, 3, "ls of another user's tree");
    r = await cli(grid, ["cat", "/jdoe/data/nope", "--json"]);
    expectCode(r, 3, "cat of a missing file");
    assertStringIncludes(JSON.parse(r.stdout).error, "/jdoe/data/nope");
    r = await cli(grid, ["put", "missing.txt", "/jdoe/x"]);
    expectCode(r, 3, "put of a missing local file");
    assertStringIncludes(r.stderr, "missing.txt: no such file");
    r = await cli(grid, ["put", "in.txt", "relative/path"]);
    expectCode(r, 2, "relative LFN");

    r = await cli(grid, ["rm", "/jdoe/data/big.bin"]);
    expectCode(r, 0, "rm");
    assertEquals(r.stdout, "removed /jdoe/data/big.bin\n");
    r = await cli(grid, ["rm", "/jdoe/data/big.bin", "--json"]);
    expectCode(r, 3, "rm of a removed file");
    assertStringIncludes(
      JSON.parse(r.stdout).error,
      "no file /jdoe/data/big.bin",
    );
    r = await cli(grid, ["rm", "/alice/x"]);
    expectCode(r, 3, "rm in another user's tree");

    // A blob altered on the broker's disk fails the check, and no file is left.
    const sha =
      (await grid.user.json<{ files: { lfn: string; sha256: string }[] }>(
        "GET",
        "/api/v1/files?prefix=/jdoe/data/in.txt",
      ))!.files[0].sha256;
    await Deno.writeTextFile(
      `${grid.stateDir}/files/blobs/${sha.slice(0, 2)}/${sha}`,
      "omega\n",
    );
    r = await cli(grid, ["get", "/jdoe/data/in.txt", "--out", "bad"]);
    expectCode(r, 1, "get of a corrupted file");
    assertStringIncludes(r.stderr, "checksum mismatch");
    assertEquals(
      (await Array.fromAsync(Deno.readDir(`${grid.dir}/bad`))).length,
      0,
    );
  } finally {
    await grid.close();
  }
});

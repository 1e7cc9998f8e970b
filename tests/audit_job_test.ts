/**
 * The always-on permission audit (README "Threat model", permission
 * audit), through a real broker, agent and wrappers:
 *
 * - a normal job's trace says "0 outside the table", and its shipped log
 *   (`audit.jsonl.gz` with the outputs) passes `splitpilot audit` again;
 * - a TEST BUILD of the wrapper with a widened table reads outside its
 *   sandbox: the job is flagged in its trace, the broker metric counts it,
 *   and after two such jobs the agent stops matching;
 * - a payload that tries to forge, truncate or delete the audit stream
 *   changes nothing in the verdict;
 * - `--audit off` is recorded in the trace.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import { makeSoftwareDir, needsImage } from "./_software.ts";
import { needsDocker, needsSingularity, withDocker } from "./_runtimes.ts";
import { brokerAddr } from "./_build.ts";
import { fullTrace, job } from "./_agent_helpers.ts";
import { main as auditMain } from "../src/cli/audit_cmd.ts";
import { AUDIT_FLAG } from "../src/protocol/audit_verdict.ts";
import type { TokenPem } from "../src/protocol/token_pem.ts";
import { BrokerClient } from "../src/client/broker_client.ts";
import { agentLaunchers, repoRoot } from "../src/launch/role_process.ts";
import { agentPermissions, toDenoFlags } from "../src/permissions/table.ts";

const HELLO = `Executable = "/bin/sh";
Arguments = "-c 'echo hi > out.txt'";
OutputFile = {"out.txt"};
TTL = 300;`;

async function auditLine(
  grid: Awaited<ReturnType<typeof startGrid>>,
  id: string,
): Promise<string> {
  const lines = (await fullTrace(grid, id)).filter((e) =>
    e.reason.startsWith("audit:")
  );
  assertEquals(lines.length, 1, JSON.stringify(lines));
  assertStringIncludes(lines[0].actor, "JOB_AGENT:");
  return lines[0].reason;
}

Deno.test("audit: a normal job shows 0 outside the table, and its shipped log re-checks", async () => {
  const grid = await startGrid();
  try {
    const id = await grid.submit(HELLO);
    const r = await grid.runAgent({ containers: "none" });
    assertEquals(r.code, 0, r.log);
    assertEquals((await job(grid, id)).state, "DONE", r.log);
    const line = await auditLine(grid, id);
    assertMatch(line, /^audit: wrapper \d+ checks \(read \d+, write \d+/);
    assertStringIncludes(line, "run not logged by Deno");
    assertStringIncludes(line, "; 0 outside the table");
    assert(!line.includes(AUDIT_FLAG), line);
    // A clean line leaves the message saying how the job ended.
    const view = await grid.user.json<{ message: string }>(
      "GET",
      `/api/v1/jobs/${id}`,
    );
    assert(!view!.message.startsWith("audit:"), view!.message);
    // The agent's log says the same, per job.
    assertStringIncludes(r.log, `job ${id}: audit: wrapper`);
    // Shipped with the outputs; `splitpilot audit` takes the table from it.
    const gz =
      await (await grid.user.download(`/jdoe/jobs/${id}/audit.jsonl.gz`))
        .bytes();
    const file = `${grid.dir}/audit.jsonl.gz`;
    await Deno.writeFile(file, gz);
    const out: string[] = [];
    const io = {
      out: (l: string) => out.push(l),
      err: (l: string) => out.push(l),
    };
    assertEquals(
      await auditMain([file, "--role", "wrapper"], io),
      0,
      out.join("\n"),
    );
    assertStringIncludes(out.join("\n"), "result: OK");
  } finally {
    await grid.close();
  }
});

/** A test build of the wrapper: the table's read grant widened by `secret`. */
async function widenedWrapper(
  grid: Awaited<ReturnType<typeof startGrid>>,
  secret: string,
): Promise<string> {
  const dir = `${grid.dir}/widened-wrapper`;
  await Deno.mkdir(dir, { recursive: true });
  const entry = `${repoRoot()}/tests/fixtures/widened_wrapper.ts`;
  await Deno.writeTextFile(
    `${dir}/run`,
    `#!/bin/sh
# broker: ${brokerAddr(grid)}
# TEST BUILD: the wrapper's read grant is widened by ${secret}
w=$1; shift
exec ${Deno.execPath()} run --no-config --no-lock --no-prompt \\
  --allow-net=${brokerAddr(grid)} --allow-read="$w",${secret} \\
  --allow-write="$w" --allow-run --allow-env \\
  ${entry} --peek ${secret} --workdir "$w" "$@"
`,
    { mode: 0o755 },
  );
  return dir;
}

/**
 * The agent of the test build: its own row lets it read and start the
 * widened wrapper (`--wrapper DIR`), everything else as `splitpilot agent`.
 */
async function runTestBuildAgent(
  grid: Awaited<ReturnType<typeof startGrid>>,
  wrapper: string,
): Promise<{ code: number; log: string }> {
  const root = repoRoot();
  const flags = toDenoFlags(agentPermissions({
    broker: brokerAddr(grid),
    tokenDir: grid.agentTokenDir,
    workRoot: `${grid.dir}/work`,
    wrapperProgram: [`${root}/wrapper.ts`, `${root}/src`, wrapper],
    deno: Deno.execPath(),
    launchers: [...agentLaunchers("none"), `${wrapper}/run`],
  }));
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...flags,
      `${root}/agent.ts`,
      "--broker",
      grid.url,
      "--token",
      grid.agentTokenDir,
      "--work",
      `${grid.dir}/work`,
      "--containers",
      "none",
      "--max-empty",
      "1",
      "--heartbeat",
      "2",
      "--wrapper",
      wrapper,
    ],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, log: new TextDecoder().decode(out.stderr) };
}

Deno.test("audit: a wrapper with a widened table reads outside its sandbox: flagged in trace and metric, then the agent stops matching", async () => {
  const grid = await startGrid();
  try {
    const secret = `${grid.dir}/secret.txt`;
    await Deno.writeTextFile(secret, "not for wrappers\n");
    const wrapper = await widenedWrapper(grid, secret);
    const ids = [await grid.submit(HELLO), await grid.submit(HELLO)];
    const r = await runTestBuildAgent(grid, wrapper);
    assertEquals(r.code, 0, r.log);
    for (const id of ids) {
      // The payload did its work: the state stays, the flag is the line.
      assertEquals((await job(grid, id)).state, "DONE", r.log);
      const line = await auditLine(grid, id);
      assertStringIncludes(line, `audit: ${AUDIT_FLAG}: wrapper`);
      assertStringIncludes(line, `1 outside the table: read ${secret} (1×)`);
      // The flag shows where users look first: the job's message.
      const view = await grid.user.json<{ message: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals(view!.message, line);
    }
    // The metric.
    const admin = await grid.client(
      await grid.token("admin", {
        role: "USER",
        subject: "ops",
        admin: true,
        ttlSeconds: 600,
      }),
    );
    const metrics = await (await admin.request("GET", "/metrics")).text();
    assertStringIncludes(
      metrics,
      'splitpilot_audit_verdicts_total{result="violation"} 2',
    );
    assertStringIncludes(
      metrics,
      'splitpilot_audit_outside_total{agent="test-site"} 2',
    );
    // Two violations: this agent certificate gets no more jobs.
    const third = await grid.submit(HELLO);
    const again = await grid.runAgent({ containers: "none" });
    assertStringIncludes(again.log, "stopped matching");
    assertEquals((await job(grid, third)).state, "WAITING");
  } finally {
    await grid.close();
  }
});

for (const containers of ["none", "bwrap"] as const) {
  Deno.test({
    name:
      `audit (${containers}): a payload that forges, truncates or deletes the audit stream changes nothing`,
    ignore: containers === "bwrap" && needs("bwrap"),
    fn: () => tamper(containers),
  });
}

async function tamper(containers: "none" | "bwrap") {
  const grid = await startGrid();
  try {
    const fake =
      '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"read","value":"/etc/shadow"}';
    // Every way in the payload has: its own stderr, the wrapper's fds
    // through /proc, a truncate of /dev/stderr, file names the wrapper
    // logs, a partial record meant to swallow the next real one.
    const script = [
      "#!/bin/sh",
      `printf '%s\\n' '${fake}' >&2`,
      `printf '%s' '{"v":1,"permission":"read","value":"' >&2`,
      `for f in /proc/[0-9]*/fd/[0-9]*; do printf '%s\\n' '${fake}' 2>/dev/null > "$f"; done`,
      `for p in /proc/[0-9]*; do sh -c ": > $p/fd/2" 2>/dev/null; rm -f $p/fd/2 2>/dev/null; done`,
      `sh -c ': > /dev/stderr' 2>/dev/null; rm -f /dev/stderr 2>/dev/null`,
      `touch "$(printf 'x\\n%s' '${fake}')"`,
      `echo done > out.txt`,
      "",
    ].join("\n");
    await grid.user.upload(
      "/jdoe/tamper.sh",
      new TextEncoder().encode(script),
    );
    const id = await grid.submit(`Executable = "/bin/sh";
Arguments = "tamper.sh";
InputFile = {"LF:/jdoe/tamper.sh"};
OutputFile = {"out.txt"};
TTL = 300;`);
    const r = await grid.runAgent({ containers });
    assertEquals(r.code, 0, r.log);
    assertEquals((await job(grid, id)).state, "DONE", r.log);
    const line = await auditLine(grid, id);
    assertStringIncludes(line, "; 0 outside the table");
    assert(!line.includes("/etc/shadow"), line);
  } finally {
    await grid.close();
  }
}

Deno.test("audit: --audit off is recorded in the trace", async () => {
  const grid = await startGrid();
  try {
    const id = await grid.submit(HELLO);
    const r = await grid.runAgent({
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "2", "--audit", "off"],
    });
    assertEquals(r.code, 0, r.log);
    assertEquals((await job(grid, id)).state, "DONE", r.log);
    assertEquals(
      await auditLine(grid, id),
      "audit: off (turned off at this site (agent --audit off))",
    );
  } finally {
    await grid.close();
  }
});

Deno.test("audit: the broker takes a verdict from the job's agent only, checked, filed once", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  const clients: BrokerClient[] = [];
  try {
    const id = await grid.submit(HELLO);
    const agent = await grid.client(grid.agentTokenDir);
    const m = (await agent.json<{ jobId: string; token: TokenPem }>(
      "POST",
      "/api/v1/match",
      { ttl: 3600, cpuCores: 1 },
    ))!;
    const w = new BrokerClient(grid.url, m.token, { retries: 1 });
    clients.push(w);
    const status = (c: BrokerClient, body: Record<string, unknown>) =>
      c.json("POST", `/api/v1/jobs/${id}/status`, body).then(
        () => 200,
        (e) => (e as { status: number }).status,
      );
    const clean = {
      mode: "on",
      records: 3,
      byKind: { read: 3 },
      outsideCount: 0,
      outside: [],
      skipped: 0,
      complete: true,
    };
    // A wrapper (JOB token) never vouches for itself.
    assertEquals(await status(w, { state: "STARTED", audit: clean }), 403);
    assertEquals(await status(w, { state: "STARTED" }), 200);
    assertEquals(await status(w, { state: "RUNNING" }), 200);
    assertEquals(await status(w, { state: "SAVING" }), 200);
    assertEquals(await status(w, { state: "DONE", exitCode: 0 }), 200);
    // Malformed verdicts are a 400 with one line.
    for (
      const bad of [
        "yes",
        { ...clean, mode: "maybe" },
        { ...clean, outsideCount: -1 },
        { ...clean, byKind: { "READ ALL": 1 } },
        { ...clean, outside: [{ kind: "read", value: 7, count: 1 }] },
      ]
    ) {
      assertEquals(
        await status(agent, { state: "DONE", attempt: 0, audit: bad }),
        400,
        JSON.stringify(bad),
      );
    }
    // Filed once, however often the report is resent.
    for (let i = 0; i < 2; i++) {
      assertEquals(
        await status(agent, { state: "DONE", attempt: 0, audit: clean }),
        200,
      );
    }
    await auditLine(grid, id);
  } finally {
    for (const c of clients) c.close();
    await grid.close();
  }
});

Deno.test("audit: `splitpilot agent` runs the agent under audit and checks its log at exit", async () => {
  const grid = await startGrid();
  try {
    const id = await grid.submit(HELLO);
    const work = `${grid.dir}/work`;
    await Deno.mkdir(work, { mode: 0o711 });
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--config",
        `${repoRoot()}/deno.json`,
        "splitpilot",
        "agent",
        "--broker",
        grid.url,
        "--token",
        grid.agentTokenDir,
        "--work",
        work,
        "--containers",
        "none",
        "--max-empty",
        "1",
      ],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const log = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, log);
    assertEquals((await job(grid, id)).state, "DONE", log);
    assertMatch(
      log,
      /agent audit: \d+ checks \(read \d+, write \d+, net \d+.*; run not logged by Deno; 0 outside the table; log .*agent-audit\.jsonl/,
    );
  } finally {
    await grid.close();
  }
});

/** A normal job in a runtime whose wrapper has another uid (audit_relay.ts). */
async function relayed(
  containers: "podman" | "singularity" | "docker",
  env?: Record<string, string>,
) {
  const grid = await startGrid();
  try {
    if (containers !== "docker") await makeSoftwareDir(`${grid.dir}/work`);
    const id = await grid.submit(HELLO);
    const r = await grid.runAgent({ containers, env });
    assertEquals(r.code, 0, r.log);
    assertEquals((await job(grid, id)).state, "DONE", r.log);
    const line = await auditLine(grid, id);
    assertMatch(line, /^audit: wrapper \d+ checks \(read \d+, write \d+/);
    assertStringIncludes(line, "; 0 outside the table");
  } finally {
    await grid.close();
  }
}

Deno.test({
  name: "audit (podman): the wrapper under a mapped uid is audited too",
  ignore: needs("podman") || needsImage(),
  fn: () => relayed("podman"),
});

Deno.test({
  name:
    "audit (singularity): the wrapper under an unprivileged uid is audited too",
  ignore: needsSingularity() || needsImage(),
  fn: () => relayed("singularity"),
});

Deno.test({
  name: "audit (docker): the wrapper in a docker container is audited too",
  ignore: needsDocker() || needsImage(),
  fn: () => withDocker((d) => relayed("docker", { DOCKER_HOST: d.host })),
});

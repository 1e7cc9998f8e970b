/**
 * The batch-queue startup script end to end: build, publish the artefacts
 * into the broker's state dir, generate the script with the CLI, run it
 * with `sh` against a real mutual-TLS broker; it fetches the agent and
 * wrapper with curl, checks their sha-256, runs a job, and removes its
 * private work dir (token included) on exit — also when preempted.
 */
import {
  assert,
  assertEquals,
  assertExists,
  assertStringIncludes,
} from "@std/assert";
import { main as siteMain } from "../src/cli/site_cmd.ts";
import { type Grid, needs, startGrid } from "./_grid.ts";
import { brokerAddr, buildFor } from "./_build.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function capture() {
  const lines: string[] = [];
  return {
    lines,
    io: {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
    },
  };
}

async function prepare(grid: Grid) {
  const build = await buildFor(grid);
  const c = capture();
  assertEquals(
    await siteMain(
      ["publish", "--state", grid.stateDir, "--dist", build.out],
      c.io,
    ),
    0,
    c.lines.join("\n"),
  );
  const script = `${grid.dir}/startup.sh`;
  assertEquals(
    await siteMain([
      "script",
      "--state",
      grid.stateDir,
      "--broker",
      brokerAddr(grid),
      "--cores",
      "1",
      "--ttl",
      "1h",
      "--agent-token-ttl",
      "2h",
      "--site",
      "test-site",
      "--out",
      script,
    ], c.io),
    0,
    c.lines.join("\n"),
  );
  const tmp = `${grid.dir}/batch-tmp`;
  await Deno.mkdir(tmp);
  return { build, script, tmp };
}

async function leftovers(tmp: string): Promise<string[]> {
  const out = [];
  for await (const e of Deno.readDir(tmp)) out.push(e.name);
  return out;
}

function runScript(script: string, tmp: string, args: string[]) {
  return new Deno.Command("/bin/sh", {
    args: [script, ...args],
    env: { TMPDIR: tmp, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test({
  name:
    "site script: fetches and checks the artefacts, runs a job end to end, cleans up",
  ignore: needs("curl"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const { script, tmp } = await prepare(grid);
      assertEquals((await Deno.stat(script)).mode! & 0o777, 0o700);
      const text = await Deno.readTextFile(script);
      assertStringIncludes(text, "-----BEGIN PRIVATE KEY-----");
      assertStringIncludes(text, "-----BEGIN CERTIFICATE-----");
      const id = await grid.submit(
        await Deno.readTextFile(`${ROOT}jobs/hello.jdl`),
      );
      const child = runScript(script, tmp, [
        "--max-empty",
        "1",
        "--heartbeat",
        "2",
        "--containers",
        needs("bwrap") ? "none" : "bwrap",
      ]);
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      const out = await child.output();
      clearTimeout(timer);
      const log = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, log);
      assertStringIncludes(log, "fetching splitpilot-agent.run");
      assertStringIncludes(log, "agent exited with code 0");
      const job = await grid.user.json<{ state: string; agent: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals(job!.state, "DONE", log);
      assertEquals(job!.agent, "test-site");
      const result = await (await grid.user.download(
        `/jdoe/jobs/${id}/result.txt`,
      )).text();
      assertStringIncludes(result, `hello from job ${id}`);
      assertEquals(await leftovers(tmp), [], "work dir removed on exit");

      // A published artefact that is not the one the script was made for.
      const shelf = `${grid.stateDir}/artefacts/splitpilot-wrapper.run`;
      await Deno.writeTextFile(shelf, "#!/bin/sh\necho tampered\n");
      const bad = await runScript(script, tmp, ["--max-empty", "1"]).output();
      const badLog = new TextDecoder().decode(bad.stderr);
      assertEquals(bad.code, 1, badLog);
      assertStringIncludes(badLog, "splitpilot-wrapper.run: sha-256");
      assertStringIncludes(badLog, "not the build this script was made for");
      assertEquals(await leftovers(tmp), [], "work dir removed on failure");
    } finally {
      await grid.close();
    }
  },
});

Deno.test({
  name:
    "site script: private work dir (0700, key 0600); SIGTERM preempts the agent and removes it",
  ignore: needs("curl"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const { script, tmp } = await prepare(grid);
      const child = runScript(script, tmp, [
        "--wait",
        "--containers",
        "none",
      ]);
      const errText = new Response(child.stderr).text();
      // Wait until the agent runs (its runtime is unpacked in the work dir).
      let work: string | undefined;
      for (let i = 0; i < 300 && !work; i++) {
        await new Promise((r) => setTimeout(r, 100));
        for (const name of await leftovers(tmp)) {
          const w = `${tmp}/${name}`;
          const ok = await Deno.stat(`${w}/work`).then(() => true, () => false);
          if (ok) work = w;
        }
      }
      assertExists(work, "the agent started");
      assertEquals((await Deno.stat(work)).mode! & 0o777, 0o700);
      assertEquals(
        (await Deno.stat(`${work}/token/key.pem`)).mode! & 0o777,
        0o600,
      );
      child.kill("SIGTERM");
      const status = await child.status;
      const log = await errText;
      assert(status.code === 0, log);
      assertStringIncludes(log, "passing it on to the agent");
      assertEquals(await leftovers(tmp), []);
    } finally {
      await grid.close();
    }
  },
});

Deno.test("artefact endpoint: JOB_AGENT only, plain names, x-sha256", async () => {
  const grid = await startGrid();
  try {
    const shelf = `${grid.stateDir}/artefacts`;
    await Deno.mkdir(shelf, { recursive: true });
    await Deno.writeTextFile(`${shelf}/splitpilot-agent.run`, "agent bytes\n");
    const agent = await grid.client(grid.agentTokenDir);
    const r = await agent.request(
      "GET",
      "/api/v1/artefacts/splitpilot-agent.run",
    );
    const body = await r.text();
    assertEquals(body, "agent bytes\n");
    const expect = Array.from(
      new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)),
      ),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assertEquals(r.headers.get("x-sha256"), expect);
    const status = (p: Promise<unknown>) =>
      p.then(() => 200, (e) => (e as { status: number }).status);
    assertEquals(
      await status(
        grid.user.request("GET", "/api/v1/artefacts/splitpilot-agent.run"),
      ),
      403,
    );
    assertEquals(
      await status(agent.request("GET", "/api/v1/artefacts/nope.run")),
      404,
    );
    assertEquals(
      await status(agent.request("GET", "/api/v1/artefacts/.hidden")),
      404,
    );
    // The CA key next door stays out of reach, however the name is spelt.
    assertEquals(
      await status(agent.request("GET", "/api/v1/artefacts/..%2Fca%2Fca.key")),
      400,
    );
    assertEquals(
      await status(agent.request("GET", "/api/v1/artefacts/ca%2Fca.key")),
      404,
    );
  } finally {
    await grid.close();
  }
});

/**
 * The `splitpilot token` and `authz` commands as users run them: the real
 * CLI as a subprocess with its task's permissions, on a job token the
 * broker really issued at match time.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startGrid } from "./_grid.ts";
import { AUTHZ_TABLE } from "../src/broker/authz.ts";
import { createCa, tokenIdentity } from "../src/token/mod.ts";

const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

/** Runs the CLI like `deno task splitpilot` does. */
async function splitpilot(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net=127.0.0.1",
      "--allow-env",
      CLI,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A field of `token show`'s text output, e.g. `field(out, "role")`. */
function field(stdout: string, name: string): string {
  const m = new RegExp(`^${name}:\\s+(.*)$`, "m").exec(stdout);
  assert(m, `no "${name}:" line in:\n${stdout}`);
  return m[1];
}

Deno.test("token show: a job token issued at match time shows role JOB, job ID and validity", async () => {
  const grid = await startGrid();
  try {
    const id = await grid.submit(
      'Executable = "/bin/sh";\nArguments = "-c true";\nTTL = 900;\n',
    );
    const agent = await grid.client(grid.agentTokenDir);
    const matched = await agent.json<
      { jobId: string; token: { certPem: string; caPem: string } }
    >("POST", "/api/v1/match", { ttl: 86400, cpuCores: 1 });
    assertEquals(matched?.jobId, id);
    const cert = `${grid.dir}/job-cert.pem`;
    const ca = `${grid.dir}/job-ca.pem`;
    await Deno.writeTextFile(cert, matched!.token.certPem);
    await Deno.writeTextFile(ca, matched!.token.caPem);
    const want = tokenIdentity(matched!.token.certPem);

    const r = await splitpilot("token", "show", cert, "--ca", ca);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(field(r.stdout, "role"), "JOB");
    assertEquals(field(r.stdout, "job ID"), id);
    assertEquals(field(r.stdout, "owner"), "jdoe");
    assertEquals(field(r.stdout, "not before"), want.notBefore.toISOString());
    assertEquals(field(r.stdout, "not after"), want.notAfter.toISOString());
    // TTL 900 s + the default 600 s margin, minus the few seconds since.
    assertMatch(field(r.stdout, "remaining"), /^2[45]m( \d+s)?$/);
    assertEquals(field(r.stdout, "sha256"), want.fingerprint);
    assertStringIncludes(field(r.stdout, "verifies"), "yes");
    assertStringIncludes(field(r.stdout, "dn"), `serialNumber=${id}`);

    const j = await splitpilot("token", "show", cert, "--ca", ca, "--json");
    assertEquals(j.code, 0, j.stderr);
    const shown = JSON.parse(j.stdout);
    assertEquals(
      [shown.role, shown.jobId, shown.owner, shown.verified, shown.notAfter],
      ["JOB", id, "jdoe", true, want.notAfter.toISOString()],
    );

    // Against another CA it is shown, but does not verify: exit 1.
    const other = `${grid.dir}/other-ca.pem`;
    await Deno.writeTextFile(other, (await createCa()).certPem);
    const no = await splitpilot("token", "show", cert, "--ca", other);
    assertEquals(no.code, 1, no.stdout + no.stderr);
    assertEquals(field(no.stdout, "job ID"), id);
    assertMatch(field(no.stdout, "verifies"), /^NO, .*bad_signature/);
  } finally {
    await grid.close();
  }
});

Deno.test("token show: malformed PEM is a clear one-line error, exit code 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "token-cli-" });
  try {
    const ca = await createCa();
    const cases: [string, string, RegExp][] = [
      [
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
        /garbage\.pem: .*not contain valid base64 DER/,
      ],
      [
        "truncated.pem",
        ca.certPem.slice(0, ca.certPem.length / 2),
        /truncated\.pem: .*PEM CERTIFICATE/,
      ],
      ["text.txt", "hello\n", /text\.txt: expected a PEM CERTIFICATE block/],
      ["key.pem", ca.keyPem, /key\.pem: expected a PEM CERTIFICATE block/],
      ["empty.pem", "", /empty\.pem: expected a PEM CERTIFICATE block/],
    ];
    for (const [name, text, why] of cases) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const r = await splitpilot("token", "show", `${dir}/${name}`);
      assertEquals(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
      assertEquals(r.stdout, "", name);
      const lines = r.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 1, r.stderr);
      assertMatch(lines[0], /^error: /);
      assertMatch(lines[0], why);
    }
    // A missing file and a missing argument are usage errors too.
    const missing = await splitpilot("token", "show", `${dir}/nope.pem`);
    assertEquals(missing.code, 2, missing.stderr);
    assertMatch(missing.stderr, /nope\.pem: cannot read/);
    const none = await splitpilot("token", "show");
    assertEquals(none.code, 2, none.stderr);
    assertMatch(none.stderr, /^error: token show: FILE is required/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("authz: prints the one authorization table with every route", async () => {
  const r = await splitpilot("authz");
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(
    r.stdout,
    "| endpoint | USER | JOB_AGENT | JOB | HOST |",
  );
  for (const route of AUTHZ_TABLE) {
    const row = r.stdout.split("\n").find((l) =>
      l.startsWith(`| \`${route.method} ${route.path}\` |`)
    );
    assert(row, `no row for ${route.method} ${route.path}`);
    const cells = row.split("|").slice(2, 6).map((c) => c.trim());
    assertEquals(
      cells,
      (["USER", "JOB_AGENT", "JOB", "HOST"] as const).map((role) =>
        route.allow[role] ?? "—"
      ),
    );
  }
  assertMatch(r.stdout, /`own_job`: .*admin/);
});

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { createCa, derToPem, pemToDer, TokenVerifier } from "../token/mod.ts";
import { main as caMain } from "./ca_cmd.ts";
import type { CliIo } from "./cli_io.ts";
import { main } from "./token_cmd.ts";

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
  };
}

async function withState(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "token_cmd_" });
  try {
    assertEquals(await caMain(["init", "--state", dir], capture()), 0);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("token issue: writes cert, 0600 key and CA for a JOB token", async () => {
  await withState(async (dir) => {
    const io = capture();
    const code = await main([
      "issue",
      "--state",
      dir,
      "--role",
      "JOB",
      "--subject",
      "alice",
      "--owner",
      "alice",
      "--job-id",
      "42",
      "--ttl",
      "12h",
      "--out",
      `${dir}/tok`,
    ], io);
    assertEquals(code, 0, io.stderr.join("\n"));
    assertEquals((await Deno.stat(`${dir}/tok/key.pem`)).mode! & 0o777, 0o600);
    const ca = await Deno.readTextFile(`${dir}/tok/ca.pem`);
    assertEquals(ca, await Deno.readTextFile(`${dir}/ca/ca.pem`));
    const id = await new TokenVerifier(ca).verify(
      await Deno.readTextFile(`${dir}/tok/cert.pem`),
    );
    assertEquals([id.role, id.subject, id.jobId, id.owner], [
      "JOB",
      "alice",
      "42",
      "alice",
    ]);
    const ttl = id.notAfter.getTime() - Date.now();
    assert(ttl > 12 * 3600_000 - 5000 && ttl <= 12 * 3600_000, `${ttl}`);
    assertStringIncludes(io.stdout.join("\n"), id.fingerprint);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(`${dir}/tok`))).map((e) => e.name)
        .sort(),
      ["ca.pem", "cert.pem", "key.pem"],
    );
  });
});

Deno.test("token issue: re-issuing replaces the files and keeps the key 0600", async () => {
  await withState(async (dir) => {
    const args = (extra: string[]) => [
      "issue",
      "--state",
      dir,
      "--role",
      "host",
      "--subject",
      "broker",
      "--ttl",
      "1h",
      "--out",
      `${dir}/h`,
      ...extra,
    ];
    assertEquals(await main(args([]), capture()), 0);
    const first = await Deno.readTextFile(`${dir}/h/cert.pem`);
    await Deno.chmod(`${dir}/h/key.pem`, 0o644);
    assertEquals(
      await main(args(["--host", "10.0.0.7", "--admin"]), capture()),
      2,
      "admin on a HOST token is refused",
    );
    assertEquals(
      await main(
        args(["--host", "10.0.0.7", "--algorithm", "rsa-2048"]),
        capture(),
      ),
      0,
    );
    assert(first !== await Deno.readTextFile(`${dir}/h/cert.pem`));
    assertEquals((await Deno.stat(`${dir}/h/key.pem`)).mode! & 0o777, 0o600);
  });
});

Deno.test("token issue: usage and input errors exit 2 with one line", async () => {
  await withState(async (dir) => {
    const base = ["issue", "--state", dir, "--out", `${dir}/o`];
    const cases: [string[], RegExp][] = [
      [[...base, "--subject", "a", "--ttl", "1h"], /--role is required/],
      [
        [...base, "--role", "ADMIN", "--subject", "a", "--ttl", "1h"],
        /--role ADMIN: expected one of USER/,
      ],
      [[...base, "--role", "USER", "--ttl", "1h"], /--subject is required/],
      [[...base, "--role", "USER", "--subject", "a"], /--ttl is required/],
      [
        [...base, "--role", "USER", "--subject", "a", "--ttl", "soon"],
        /invalid duration "soon"/,
      ],
      [
        [...base, "--role", "JOB", "--subject", "a", "--ttl", "1h"],
        /needs --job-id and --owner/,
      ],
      [
        [...base, "--role", "USER", "--subject", "a b", "--ttl", "1h"],
        /invalid subject/,
      ],
      [[
        ...base,
        "--role",
        "USER",
        "--subject",
        "a",
        "--ttl",
        "1h",
        "--algorithm",
        "x",
      ], /unknown key algorithm "x"/],
      [
        [...base, "--role", "USER", "--subject", "a", "--ttl", "1h", "--nope"],
        /--nope/,
      ],
      [[
        "issue",
        "--state",
        `${dir}/none`,
        "--role",
        "USER",
        "--subject",
        "a",
        "--ttl",
        "1h",
        "--out",
        `${dir}/o`,
      ], /none\/ca\/ca\.pem: cannot read: no such file/],
      [["frobnicate"], /unknown subcommand "frobnicate"/],
    ];
    for (const [args, re] of cases) {
      const io = capture();
      assertEquals(await main(args, io), 2, args.join(" "));
      assertEquals(io.stderr.length, 1);
      assertMatch(io.stderr[0], /^error: /);
      assertMatch(io.stderr[0], re);
    }
    const help = capture();
    assertEquals(await main(["issue", "--help"], help), 0);
    assertStringIncludes(help.stdout[0], "splitpilot token issue --state DIR");
    // Nothing was written by any of them.
    await Deno.stat(`${dir}/o`).then(
      () => assert(false, "output dir created"),
      (e) => assert(e instanceof Deno.errors.NotFound),
    );
  });
});

Deno.test("token show: prints the token's fields and verifies against --ca", async () => {
  await withState(async (dir) => {
    assertEquals(
      await main([
        "issue",
        "--state",
        dir,
        "--role",
        "USER",
        "--subject",
        "bob",
        "--admin",
        "--ttl",
        "90m",
        "--out",
        `${dir}/u`,
      ], capture()),
      0,
    );
    const cert = `${dir}/u/cert.pem`;
    const id = await new TokenVerifier(
      await Deno.readTextFile(`${dir}/u/ca.pem`),
    ).verify(await Deno.readTextFile(cert));
    const io = capture();
    assertEquals(await main(["show", cert, "--ca", `${dir}/u/ca.pem`], io), 0);
    const text = io.stdout.join("\n");
    for (
      const want of [
        "dn:          CN=bob, title=admin, OU=USER, O=splitpilot",
        "role:        USER",
        "subject:     bob",
        "job ID:      -",
        "owner:       -",
        "admin:       yes",
        `serial:      ${id.serial}`,
        `not before:  ${id.notBefore.toISOString()}`,
        `not after:   ${id.notAfter.toISOString()}`,
        `sha256:      ${id.fingerprint}`,
        `verifies:    yes, against ${dir}/u/ca.pem`,
      ]
    ) assertStringIncludes(text, want);
    assertMatch(text, /remaining: {3}1h 29m|remaining: {3}1h 30m/);

    const json = capture();
    assertEquals(await main(["show", cert, "--json"], json), 0);
    const obj = JSON.parse(json.stdout.join("\n"));
    assertEquals(
      [
        obj.role,
        obj.subject,
        obj.admin,
        obj.jobId,
        obj.serial,
        obj.fingerprint,
      ],
      ["USER", "bob", true, null, id.serial, id.fingerprint],
    );
    assert(obj.remainingSeconds > 5300 && obj.remainingSeconds <= 5400);
    assertEquals("verified" in obj, false);
  });
});

Deno.test("token show: a foreign CA's token does not verify (exit 1, with the reason)", async () => {
  await withState(async (dir) => {
    await main([
      "issue",
      "--state",
      dir,
      "--role",
      "JOB_AGENT",
      "--subject",
      "agent",
      "--ttl",
      "1h",
      "--out",
      `${dir}/a`,
    ], capture());
    const other = await createCa({ subject: "other CA" });
    await Deno.writeTextFile(`${dir}/other.pem`, other.certPem);
    const io = capture();
    const code = await main([
      "show",
      `${dir}/a/cert.pem`,
      "--ca",
      `${dir}/other.pem`,
      "--json",
    ], io);
    assertEquals(code, 1);
    const obj = JSON.parse(io.stdout.join("\n"));
    assertEquals([obj.verified, obj.verifyError.reason], [
      false,
      "unknown_issuer",
    ]);
    const text = capture();
    assertEquals(
      await main(
        ["show", `${dir}/a/cert.pem`, "--ca", `${dir}/other.pem`],
        text,
      ),
      1,
    );
    assertMatch(
      text.stdout.at(-1)!,
      /^verifies: {4}NO, against .*: unknown_issuer: issued by/,
    );
  });
});

Deno.test("token show: malformed PEM and non-token certificates exit 2", async () => {
  await withState(async (dir) => {
    await Deno.writeTextFile(`${dir}/junk.pem`, "hello\n");
    const der = pemToDer(await Deno.readTextFile(`${dir}/ca/ca.pem`));
    await Deno.writeTextFile(
      `${dir}/cut.pem`,
      derToPem(der.subarray(0, 40), "CERTIFICATE"),
    );
    const cases: [string[], string][] = [
      [
        ["show", `${dir}/junk.pem`],
        `error: ${dir}/junk.pem: expected a PEM CERTIFICATE block`,
      ],
      [
        ["show", `${dir}/ca/ca.key`],
        `error: ${dir}/ca/ca.key: expected a PEM CERTIFICATE block, found PRIVATE KEY`,
      ],
      [
        ["show", `${dir}/cut.pem`],
        `error: ${dir}/cut.pem: the PEM CERTIFICATE block does not contain valid base64 DER`,
      ],
      [
        ["show", `${dir}/ca/ca.pem`],
        `error: ${dir}/ca/ca.pem: not a token: token DN "CN=splitpilot CA, O=splitpilot" has no role OU`,
      ],
      [
        ["show", `${dir}/missing.pem`],
        `error: ${dir}/missing.pem: cannot read: no such file`,
      ],
      [["show"], "error: token show: FILE is required"],
      [
        ["show", `${dir}/ca/ca.pem`, "--ca", `${dir}/junk.pem`],
        `error: ${dir}/ca/ca.pem: not a token`,
      ],
    ];
    for (const [args, want] of cases) {
      const io = capture();
      assertEquals(await main(args, io), 2, args.join(" "));
      assertEquals(io.stderr.length, 1);
      assertStringIncludes(io.stderr[0], want);
    }
  });
});

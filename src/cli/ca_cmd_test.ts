import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { certificateInfo, TokenIssuer } from "../token/mod.ts";
import { main } from "./ca_cmd.ts";
import type { CliIo } from "./cli_io.ts";

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

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ca_cmd_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ca init: writes a usable CA with a 0600 key", async () => {
  await withTempDir(async (dir) => {
    const io = capture();
    assertEquals(await main(["init", "--state", dir], io), 0);
    const key = await Deno.stat(`${dir}/ca/ca.key`);
    assertEquals(key.mode! & 0o777, 0o600);
    const cert = await Deno.stat(`${dir}/ca/ca.pem`);
    assertEquals(cert.mode! & 0o777, 0o644);
    const certPem = await Deno.readTextFile(`${dir}/ca/ca.pem`);
    const keyPem = await Deno.readTextFile(`${dir}/ca/ca.key`);
    const info = certificateInfo(certPem);
    assert(info.isCa);
    assertEquals(info.key, "EC P-256");
    // The pair really works together.
    const t = await (await TokenIssuer.fromPem({ certPem, keyPem })).issue({
      role: "USER",
      subject: "a",
      ttlSeconds: 60,
    });
    assert(t.certPem.length > 0);
    assertStringIncludes(io.stdout.join("\n"), info.fingerprint);
    assertEquals(io.stderr, []);
  });
});

Deno.test("ca init: never overwrites an existing CA", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await main(["init", "--state", dir], capture()), 0);
    const before = await Deno.readTextFile(`${dir}/ca/ca.key`);
    const io = capture();
    assertEquals(await main(["init", "--state", dir], io), 1);
    assertEquals(io.stderr, [
      `error: ${dir}/ca/ca.key already exists; refusing to overwrite the CA`,
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/ca/ca.key`), before);
    // A lone certificate also blocks it, and no key is left behind.
    await Deno.remove(`${dir}/ca/ca.key`);
    const io2 = capture();
    assertEquals(await main(["init", "--state", dir], io2), 1);
    assertStringIncludes(io2.stderr[0], "ca.pem already exists");
    await Deno.lstat(`${dir}/ca/ca.key`).then(
      () => assert(false, "ca.key was written"),
      (e) => assert(e instanceof Deno.errors.NotFound),
    );
  });
});

Deno.test("ca init: concurrent inits leave exactly one CA", async () => {
  await withTempDir(async (dir) => {
    const codes = await Promise.all(
      [0, 1, 2].map(() => main(["init", "--state", dir], capture())),
    );
    assertEquals(codes.filter((c) => c === 0).length, 1);
    const certPem = await Deno.readTextFile(`${dir}/ca/ca.pem`);
    const keyPem = await Deno.readTextFile(`${dir}/ca/ca.key`);
    await TokenIssuer.fromPem({ certPem, keyPem });
  });
});

Deno.test("ca init: RSA and a custom subject", async () => {
  await withTempDir(async (dir) => {
    const code = await main(
      [
        "init",
        "--state",
        dir,
        "--algorithm",
        "rsa-2048",
        "--subject",
        "Site CA",
      ],
      capture(),
    );
    assertEquals(code, 0);
    const info = certificateInfo(await Deno.readTextFile(`${dir}/ca/ca.pem`));
    assertEquals([info.key, info.subject], [
      "RSA-2048",
      "CN=Site CA, O=splitpilot",
    ]);
  });
});

Deno.test("ca: usage errors exit 2 with one line", async () => {
  const cases: [string[], RegExp][] = [
    [[], /^error: missing subcommand/],
    [["create"], /^error: unknown subcommand "create"/],
    [["init"], /^error: --state DIR is required/],
    [["init", "--state"], /^error: .*--state/],
    [["init", "--state", "x", "--algorithm", "dsa"], /^error: --algorithm dsa/],
    [["init", "--state", "x", "--force"], /^error: .*--force/],
    [
      ["init", "--state", "x", "--subject", " bad"],
      /^error: invalid CA subject/,
    ],
  ];
  for (const [args, re] of cases) {
    const io = capture();
    assertEquals(await main(args, io), 2, args.join(" "));
    assertMatch(io.stderr[0], re);
    assertEquals(io.stdout, []);
  }
  const help = capture();
  assertEquals(await main(["--help"], help), 0);
  assertStringIncludes(help.stdout[0], "usage: splitpilot ca init");
});

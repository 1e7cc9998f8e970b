import { assert, assertEquals, assertRejects } from "@std/assert";
import { parseCertificate } from "./_x509.ts";
import { createCa, pemToDer, TokenError } from "./mod.ts";

Deno.test("createCa: a CA:true pathlen 0 certificate for keyCertSign|cRLSign", async () => {
  const before = Date.now();
  const ca = await createCa({ subject: "Test CA 1", ttlSeconds: 86400 });
  const c = parseCertificate(pemToDer(ca.certPem));
  assertEquals(c.ext.basicConstraints, { ca: true, pathLen: 0 });
  assertEquals(c.ext.keyUsage, (1 << 5) | (1 << 6));
  assertEquals(c.issuer.der, c.subject.der);
  assertEquals(c.subject.rdns.map((r) => r[0].value), [
    "splitpilot",
    "Test CA 1",
  ]);
  assert(Math.abs(c.notBefore.getTime() - (before - 60_000)) < 2000);
  assert(Math.abs(c.notAfter.getTime() - (before + 86400_000)) < 2000);
  assertEquals(c.ext.subjectKeyId?.length, 20);
  assert(ca.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"));
  // Default lifetime: ten years.
  const d = parseCertificate(pemToDer((await createCa()).certPem));
  const years = (d.notAfter.getTime() - d.notBefore.getTime()) / 3.1536e10;
  assert(years > 9.99 && years < 10.01, `${years}`);
});

Deno.test("createCa: bad options are refused", async () => {
  for (
    const [opts, msg] of [
      [{ subject: " x" }, "invalid CA subject"],
      [{ subject: "a,b" }, "invalid CA subject"],
      [{ algorithm: "ed25519" }, 'unknown key algorithm "ed25519"'],
      [{ ttlSeconds: -1 }, "invalid CA ttlSeconds"],
    ] as const
  ) {
    const e = await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => createCa(opts as any),
      TokenError,
      msg,
    );
    assertEquals(e.reason, "invalid_input");
  }
});

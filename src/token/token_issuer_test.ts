import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { peculiar, x509 } from "./_testing.ts";
import {
  createCa,
  type IssueOptions,
  pemToDer,
  ROLES,
  TokenError,
  tokenIdentity,
  TokenIssuer,
} from "./mod.ts";

const ca = await createCa();
const issuer = await TokenIssuer.fromPem(ca);

const CASES: IssueOptions[] = [
  { role: "USER", subject: "alice", ttlSeconds: 3600 },
  { role: "USER", subject: "root@site", ttlSeconds: 3600, admin: true },
  { role: "JOB_AGENT", subject: "site.ce-01", ttlSeconds: 86400 },
  {
    role: "JOB",
    subject: "alice",
    owner: "alice",
    jobId: "12345",
    ttlSeconds: 600,
  },
  { role: "HOST", subject: "localhost", ttlSeconds: 3600 },
];

Deno.test("issue: every role round-trips DN, role, job ID, owner, admin", async () => {
  for (const opts of CASES) {
    const t = await issuer.issue(opts);
    const id = tokenIdentity(t.certPem);
    assertEquals(id.role, opts.role);
    assertEquals(id.subject, opts.subject);
    assertEquals(id.jobId, opts.jobId);
    assertEquals(id.owner, opts.owner);
    assertEquals(id.admin, opts.admin ?? false);
    assertEquals(id.serial, t.serial);
    assertEquals(id.fingerprint, t.fingerprint);
    assertEquals(id.notBefore, t.notBefore);
    assertEquals(id.notAfter, t.notAfter);
    // The same parse from the raw DER the broker gets from node:tls.
    assertEquals(tokenIdentity(pemToDer(t.certPem)), id);
  }
  assertEquals(ROLES.length, 4);
});

Deno.test("issue: DN layout is the documented one", async () => {
  const dns = await Promise.all(
    CASES.map(async (o) => tokenIdentity((await issuer.issue(o)).certPem).dn),
  );
  assertEquals(dns, [
    "CN=alice, OU=USER, O=splitpilot",
    "CN=root@site, title=admin, OU=USER, O=splitpilot",
    "CN=site.ce-01, OU=JOB_AGENT, O=splitpilot",
    "CN=alice, serialNumber=12345, UID=alice, OU=JOB, O=splitpilot",
    "CN=localhost, OU=HOST, O=splitpilot",
  ]);
});

Deno.test("issue: serial, validity window and fingerprint", async () => {
  const before = Date.now();
  const a = await issuer.issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 7200,
  });
  const b = await issuer.issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 7200,
  });
  // 16 bytes, the first non-zero: 32 hex digits, but "0" may lead (0x01-0x0f).
  assertMatch(a.serial, /^(?!00)[0-9a-f]{32}$/);
  assertNotEquals(a.serial, b.serial);
  // notBefore = now − 60 s, notAfter = now + ttl, whole seconds.
  assertLessOrEqual(a.notBefore.getTime(), before - 59_000);
  assertGreaterOrEqual(a.notBefore.getTime(), before - 61_000);
  assertGreaterOrEqual(a.notAfter.getTime(), before + 7199_000);
  assertLessOrEqual(a.notAfter.getTime(), Date.now() + 7200_000);
  assertEquals(a.notAfter.getTime() % 1000, 0);
  const digest = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      pemToDer(a.certPem) as Uint8Array<ArrayBuffer>,
    ),
  );
  assertEquals(a.fingerprint, digest.toHex());
  assert(a.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"));
});

Deno.test("issue: @peculiar/x509 reads our certificates the same way", async () => {
  const caCert = peculiar(ca.certPem);
  const bc = caCert.getExtension(x509.BasicConstraintsExtension);
  assertEquals([bc?.ca, bc?.pathLength, bc?.critical], [true, 0, true]);
  assertEquals(
    caCert.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
  );
  assert(await caCert.verify({ signatureOnly: true }));

  const host = await issuer.issue({
    role: "HOST",
    subject: "broker.example.org",
    ttlSeconds: 3600,
    hosts: ["10.1.2.3", "::1", "alt.example.org"],
  });
  const c = peculiar(host.certPem);
  assert(await c.verify({ publicKey: caCert.publicKey, signatureOnly: true }));
  assertEquals(c.serialNumber, host.serial);
  assertEquals(c.notBefore, host.notBefore);
  assertEquals(c.notAfter, host.notAfter);
  assertEquals(c.issuer, caCert.subject);
  assertStringIncludes(c.subject, "OU=HOST");
  assertStringIncludes(c.subject, "CN=broker.example.org");
  assertEquals(c.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assertEquals(
    c.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.digitalSignature,
  );
  assertEquals([
    ...(c.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []),
  ], [
    x509.ExtendedKeyUsage.serverAuth,
    x509.ExtendedKeyUsage.clientAuth,
  ]);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension)!.names
    .toJSON().map((n) => `${n.type}:${n.value}`);
  assertEquals(san, [
    "ip:127.0.0.1",
    "dns:localhost",
    "dns:broker.example.org",
    "ip:10.1.2.3",
    "ip:::1",
    "dns:alt.example.org",
  ]);
  const aki = c.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  assertEquals(aki, ski);

  const user = peculiar(
    (await issuer.issue({ role: "USER", subject: "u", ttlSeconds: 60 }))
      .certPem,
  );
  assertEquals([
    ...(user.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []),
  ], [
    x509.ExtendedKeyUsage.clientAuth,
  ]);
  assertEquals(user.getExtension(x509.SubjectAlternativeNameExtension), null);
});

Deno.test("issue: the key PEM holds the certificate's key", async () => {
  const t = await issuer.issue({ role: "USER", subject: "k", ttlSeconds: 60 });
  const priv = await crypto.subtle.importKey(
    "pkcs8",
    pemToDer(t.keyPem) as Uint8Array<ArrayBuffer>,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const msg = new TextEncoder().encode("proof of possession");
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    priv,
    msg,
  );
  const pub = await peculiar(t.certPem).publicKey.export(
    { name: "ECDSA", namedCurve: "P-256" },
    ["verify"],
    crypto,
  );
  assert(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      pub,
      sig,
      msg,
    ),
  );
});

Deno.test("issue: RSA CA and RSA token keys", async () => {
  const rsaCa = await createCa({ algorithm: "rsa-2048" });
  const rsaIssuer = await TokenIssuer.fromPem(rsaCa);
  const t = await rsaIssuer.issue({
    role: "USER",
    subject: "bob",
    ttlSeconds: 60,
    algorithm: "rsa-2048",
  });
  const c = peculiar(t.certPem);
  assertEquals(c.signatureAlgorithm.name, "RSASSA-PKCS1-v1_5");
  assertEquals(c.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
  assertEquals(
    c.getExtension(x509.KeyUsagesExtension)?.usages,
    x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
  );
  assert(
    await c.verify({
      publicKey: peculiar(rsaCa.certPem).publicKey,
      signatureOnly: true,
    }),
  );
  // EC token under the RSA CA, RSA-3072 token under the EC CA.
  const ec = await rsaIssuer.issue({
    role: "HOST",
    subject: "h",
    ttlSeconds: 60,
  });
  assertEquals(peculiar(ec.certPem).publicKey.algorithm.name, "ECDSA");
  const big = await issuer.issue({
    role: "JOB_AGENT",
    subject: "agent",
    ttlSeconds: 60,
    algorithm: "rsa-3072",
  });
  const alg = peculiar(big.certPem).publicKey
    .algorithm as RsaHashedKeyAlgorithm;
  assertEquals(alg.modulusLength, 3072);
});

Deno.test("issue: bad options are refused with a clear message", async () => {
  const bad: [Partial<IssueOptions>, string][] = [
    [{ role: "ADMIN" as never }, 'invalid role "ADMIN"'],
    [{ subject: "" }, "invalid subject"],
    [{ subject: "a,b" }, "invalid subject"],
    [{ ttlSeconds: 0 }, "invalid ttlSeconds"],
    [{ ttlSeconds: NaN }, "invalid ttlSeconds"],
    [{ role: "JOB", owner: "alice" }, "invalid jobId"],
    [{ role: "JOB", jobId: "1" }, "invalid owner"],
    [{ role: "JOB", jobId: "1 2", owner: "alice" }, "invalid jobId"],
    [{ jobId: "1" }, "only for role JOB"],
    [{ admin: true, role: "JOB_AGENT" }, "admin is only for role USER"],
    [{ hosts: ["x"] }, "hosts are only for role HOST"],
    [{ role: "HOST", hosts: ["bad host"] }, 'invalid host "bad host"'],
    [{ algorithm: "dsa" as never }, 'unknown key algorithm "dsa"'],
    [{ ttlSeconds: 20 * 365 * 86400 }, "would outlive the CA"],
    [
      { notBefore: new Date(2e12), notAfter: new Date(1e12) },
      "is not after notBefore",
    ],
  ];
  for (const [patch, msg] of bad) {
    const e = await assertRejects(
      () =>
        issuer.issue({
          role: "USER",
          subject: "alice",
          ttlSeconds: 60,
          ...patch,
        }),
      TokenError,
      msg,
    );
    assertEquals(e.reason, "invalid_input");
  }
});

Deno.test("fromPem: refuses a key of another CA and a non-CA certificate", async () => {
  const other = await createCa();
  const e = await assertRejects(
    () => TokenIssuer.fromPem({ certPem: ca.certPem, keyPem: other.keyPem }),
    TokenError,
  );
  assertEquals(e.reason, "key_mismatch");
  const rsa = await createCa({ algorithm: "rsa-2048" });
  const e2 = await assertRejects(
    () => TokenIssuer.fromPem({ certPem: ca.certPem, keyPem: rsa.keyPem }),
    TokenError,
    "the CA key is an RSA key",
  );
  assertEquals(e2.reason, "key_mismatch");
  const leaf = await issuer.issue({
    role: "USER",
    subject: "x",
    ttlSeconds: 60,
  });
  const e3 = await assertRejects(
    () => TokenIssuer.fromPem({ certPem: leaf.certPem, keyPem: leaf.keyPem }),
    TokenError,
  );
  assertEquals(e3.reason, "not_ca");
  const e4 = await assertRejects(
    () => TokenIssuer.fromPem({ certPem: ca.keyPem, keyPem: ca.keyPem }),
    TokenError,
    "CA certificate: expected a PEM CERTIFICATE block, found PRIVATE KEY",
  );
  assertEquals(e4.reason, "malformed");
  assertEquals(issuer.caCertPem, ca.certPem);
});

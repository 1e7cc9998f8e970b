import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { openssl } from "../../tests/_x509.ts";
import { createCa, type IssueOptions, TokenIssuer } from "./mod.ts";

async function withFiles(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "token_openssl_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ROLE_CASES: [IssueOptions, string, string][] = [
  [
    { role: "USER", subject: "alice", ttlSeconds: 600, admin: true },
    "sslclient",
    "subject=O = splitpilot, OU = USER, title = admin, CN = alice",
  ],
  [
    { role: "JOB_AGENT", subject: "agent", ttlSeconds: 600 },
    "sslclient",
    "subject=O = splitpilot, OU = JOB_AGENT, CN = agent",
  ],
  [
    {
      role: "JOB",
      subject: "alice",
      owner: "alice",
      jobId: "42",
      ttlSeconds: 600,
    },
    "sslclient",
    "subject=O = splitpilot, OU = JOB, UID = alice, serialNumber = 42, CN = alice",
  ],
  [
    { role: "HOST", subject: "localhost", ttlSeconds: 600 },
    "sslserver",
    "subject=O = splitpilot, OU = HOST, CN = localhost",
  ],
];

for (const algorithm of ["ecdsa-p256", "rsa-2048"] as const) {
  Deno.test(`openssl verify accepts our ${algorithm} CA's tokens and shows their fields`, async () => {
    const ca = await createCa({ algorithm });
    const issuer = await TokenIssuer.fromPem(ca);
    for (const [opts, purpose, subject] of ROLE_CASES) {
      const t = await issuer.issue({ ...opts, algorithm });
      await withFiles(
        { "ca.pem": ca.certPem, "cert.pem": t.certPem, "key.pem": t.keyPem },
        async (d) => {
          const v = await openssl(
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            `${d}/ca.pem`,
            `${d}/cert.pem`,
          );
          assertEquals(v, { code: 0, out: `${d}/cert.pem: OK\n` });
          const x = await openssl(
            "x509",
            "-in",
            `${d}/cert.pem`,
            "-noout",
            "-subject",
            "-serial",
            "-ext",
            "extendedKeyUsage,basicConstraints,keyUsage",
          );
          assertEquals(x.code, 0, x.out);
          assertStringIncludes(x.out, subject + "\n");
          assertStringIncludes(x.out, `serial=${t.serial.toUpperCase()}\n`);
          assertStringIncludes(x.out, "CA:FALSE");
          assertStringIncludes(x.out, "Digital Signature");
          assertStringIncludes(
            x.out,
            opts.role === "HOST"
              ? "TLS Web Server Authentication"
              : "TLS Web Client Authentication",
          );
          // The key file holds the certificate's key.
          const a = await openssl(
            "x509",
            "-in",
            `${d}/cert.pem`,
            "-noout",
            "-pubkey",
          );
          const b = await openssl("pkey", "-in", `${d}/key.pem`, "-pubout");
          assertEquals(a.code, 0);
          assertEquals(a.out, b.out);
        },
      );
    }
    await withFiles({ "ca.pem": ca.certPem }, async (d) => {
      const x = await openssl(
        "x509",
        "-in",
        `${d}/ca.pem`,
        "-noout",
        "-subject",
        "-ext",
        "basicConstraints,keyUsage",
      );
      assertStringIncludes(x.out, "subject=O = splitpilot, CN = splitpilot CA");
      assertStringIncludes(x.out, "CA:TRUE, pathlen:0");
      assertStringIncludes(x.out, "Certificate Sign, CRL Sign");
    });
  });
}

Deno.test("openssl verify refuses an expired token and a foreign CA's token", async () => {
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const expired = await issuer.issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 1,
    notBefore: new Date(Date.now() - 7200_000),
    notAfter: new Date(Date.now() - 3600_000),
  });
  const foreign = await (await TokenIssuer.fromPem(await createCa())).issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 60,
  });
  await withFiles(
    {
      "ca.pem": ca.certPem,
      "e.pem": expired.certPem,
      "f.pem": foreign.certPem,
    },
    async (d) => {
      const e = await openssl("verify", "-CAfile", `${d}/ca.pem`, `${d}/e.pem`);
      assertEquals(e.code, 2);
      assertMatch(e.out, /certificate has expired/);
      const f = await openssl("verify", "-CAfile", `${d}/ca.pem`, `${d}/f.pem`);
      assertEquals(f.code, 2);
      assertMatch(f.out, /signature failure|unable to get local issuer/);
    },
  );
});

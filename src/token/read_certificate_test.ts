import { assert, assertEquals, assertThrows } from "@std/assert";
import { openssl, peculiar } from "../../tests/_x509.ts";
import { createCa, type IssueOptions, TokenIssuer } from "./mod.ts";
import { verify } from "node:crypto";
import {
  parseNameText,
  readCertificate,
  signedParts,
} from "./read_certificate.ts";
import { TokenError } from "./token_error.ts";
import { tokenIdentity } from "./token_identity.ts";

const JOB: IssueOptions = {
  role: "JOB",
  subject: "alice",
  owner: "alice",
  jobId: "42",
  ttlSeconds: 600,
};

Deno.test("readCertificate: our encoder's certificates read the same in node:crypto, @peculiar/x509 and openssl", async () => {
  for (const algorithm of ["ecdsa-p256", "rsa-2048"] as const) {
    const ca = await createCa({ algorithm });
    const issuer = await TokenIssuer.fromPem(ca);
    const t = await issuer.issue({ ...JOB, algorithm });
    const c = readCertificate(t.certPem);
    const p = peculiar(t.certPem);
    // Serial and fingerprint: as the issuer reported them, as @peculiar reads.
    assertEquals(c.serial, t.serial);
    assertEquals(c.serial, p.serialNumber.toLowerCase());
    assertEquals(c.fingerprint, t.fingerprint);
    assertEquals(c.notBefore.getTime(), p.notBefore.getTime());
    assertEquals(c.notAfter.getTime(), p.notAfter.getTime());
    assertEquals(c.subject.map((r) => r.map((a) => [a.oid, a.value])), [
      [["2.5.4.10", "splitpilot"]],
      [["2.5.4.11", "JOB"]],
      [["0.9.2342.19200300.100.1.1", "alice"]],
      [["2.5.4.5", "42"]],
      [["2.5.4.3", "alice"]],
    ]);
    assert(c.x509.verify(readCertificate(ca.certPem).x509.publicKey));
    // And the command-line OpenSSL agrees on serial, dates and fingerprint.
    const dir = await Deno.makeTempDir({ prefix: "read_certificate_" });
    try {
      await Deno.writeTextFile(`${dir}/cert.pem`, t.certPem);
      const o = await openssl(
        "x509",
        "-in",
        `${dir}/cert.pem`,
        "-noout",
        "-serial",
        "-enddate",
        "-fingerprint",
        "-sha256",
      );
      assertEquals(o.code, 0, o.out);
      assert(o.out.includes(`serial=${t.serial.toUpperCase()}`), o.out);
      const fp = t.fingerprint.toUpperCase().match(/../g)!.join(":");
      assert(o.out.includes(fp), o.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("readCertificate: serials with a leading zero nibble keep whole bytes", async () => {
  const issuer = await TokenIssuer.fromPem(await createCa());
  // One serial in 16 starts with 0x0?; 200 issues miss none with p ≈ 2e-6.
  let short = 0;
  for (let i = 0; i < 200; i++) {
    const t = await issuer.issue({
      role: "USER",
      subject: "a",
      ttlSeconds: 60,
    });
    if (t.serial.startsWith("0")) short++;
    assertEquals(tokenIdentity(t.certPem).serial, t.serial);
  }
  assert(short > 0, "the sample had a serial with a leading zero nibble");
});

Deno.test("readCertificate: not exactly one certificate is malformed", async () => {
  const t = await (await TokenIssuer.fromPem(await createCa())).issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 60,
  });
  const der = readCertificate(t.certPem).der;
  for (
    const bad of [
      new Uint8Array(0),
      new Uint8Array([0x30, 0x03, 1, 2, 3]),
      der.subarray(0, der.length - 1),
      new Uint8Array([...der, 0]),
    ]
  ) {
    const e = assertThrows(() => readCertificate(bad), TokenError);
    assertEquals(e.reason, "malformed");
  }
});

Deno.test("parseNameText: lines, multi-valued RDNs and unnamed OIDs", () => {
  assertEquals(
    parseNameText("O=splitpilot\nOU=USER + CN=a\nOID(1.2.3)=x\nuid=b"),
    [
      [{ oid: "2.5.4.10", value: "splitpilot" }],
      [{ oid: "2.5.4.11", value: "USER" }, { oid: "2.5.4.3", value: "a" }],
      [{ oid: "1.2.3", value: "x" }],
      [{ oid: "0.9.2342.19200300.100.1.1", value: "b" }],
    ],
  );
  assertEquals(parseNameText(""), []);
});

Deno.test("signedParts: the bytes the platform verifies the signature over", async () => {
  for (const algorithm of ["ecdsa-p256", "rsa-2048"] as const) {
    const ca = await createCa({ algorithm });
    const t = await (await TokenIssuer.fromPem(ca)).issue({
      role: "USER",
      subject: "a",
      ttlSeconds: 60,
      algorithm,
    });
    const c = readCertificate(t.certPem);
    const parts = signedParts(c.der)!;
    const key = readCertificate(ca.certPem).x509.publicKey;
    // node:crypto's verify over our split agrees with X509Certificate's.
    assert(verify("sha256", parts.tbs, key, parts.signature));
    assert(c.x509.verify(key));
    const other = new Uint8Array(parts.tbs);
    other[other.length - 1] ^= 1;
    assert(!verify("sha256", other, key, parts.signature));
  }
  assertEquals(signedParts(new Uint8Array([0x30, 0x00])), undefined);
});
